/**
 * The explorer's HTTP server: Jetty 12 (its core API, no servlets) on loopback by default, the JSON
 * API under {@code /api/v1/}, its OpenAPI file at {@code /api}, and the page's own assets. It only
 * translates: JSON in, a call into {@code dev.loupe.server.explore}, JSON out; every error a JSON
 * message; limits on bodies, prompts and concurrent runs.
 */
package dev.loupe.server;
