/**
 * What the explorer computes, one view per file: each takes a request record (what the page or a
 * script sends as JSON) and answers with a record Jackson writes back, by calling Loupe's own APIs
 * ({@code runWithHooks}, {@code Patching}, {@code HeadDetector}, {@code logitAttrs}, the lenses,
 * {@code Generator}). Nothing here knows about HTTP; nothing here computes what those APIs already do.
 */
package dev.loupe.server.explore;
