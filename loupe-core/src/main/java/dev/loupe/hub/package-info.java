/**
 * The Hugging Face Hub: model names resolved to repositories, and files downloaded into the cache
 * Python's {@code huggingface_hub} keeps ({@code models--org--name/blobs}, {@code snapshots},
 * {@code refs}), so that a model downloaded by either is found by the other, offline too.
 * {@link dev.loupe.hub.HubSettings} reads the same environment variables as huggingface_hub;
 * {@link dev.loupe.hub.HubClient} fetches files and whole model snapshots (resumable, checked,
 * locked, atomic, and bounded: a stalled body times out, tries that bring no new byte are limited,
 * redirects lead only to http(s) servers, and an ETag must be a plain file name);
 * {@link dev.loupe.hub.ModelRegistry} holds TransformerLens's official model names and aliases (and,
 * kept apart, a few Hub ids with Loupe's own aliases); {@link dev.loupe.hub.ModelResolver} turns
 * what a user types ({@code gpt2}, {@code gpt2-small}, {@code EleutherAI/pythia-70m}, a folder)
 * into a model folder.
 *
 * <p>Floor "adapter contract, processing, caches, the Hub": it may use everything up to and
 * including {@code dev.loupe.io}, though it needs only {@code dev.loupe}'s errors and names. It
 * fetches files and knows nothing of what is in them: reading a downloaded folder is
 * {@code dev.loupe.load}, and where pretrained lenses live is {@code dev.loupe.lens}
 * ({@code PretrainedLenses}).
 */
package dev.loupe.hub;
