/**
 * The Hugging Face Hub: model names resolved to repositories, files downloaded into the cache
 * Python's {@code huggingface_hub} keeps ({@code models--org--name/blobs}, {@code snapshots},
 * {@code refs}), so that a model downloaded by either is found by the other, offline too.
 *
 * <p>{@link dev.loupe.hub.HubSettings} reads the same environment variables as huggingface_hub;
 * {@link dev.loupe.hub.HubClient} fetches files and whole model snapshots;
 * {@link dev.loupe.hub.ModelResolver} turns what a user types ({@code gpt2}, {@code gpt2-small},
 * {@code EleutherAI/pythia-70m}, a folder) into a model folder.
 */
package dev.loupe.hub;
