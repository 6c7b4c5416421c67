/**
 * SAELens's on-disk formats: {@link dev.loupe.sae.format.SaeConfig} ({@code cfg.json}, read and written
 * by {@link dev.loupe.sae.format.SaeConfigJson}, pre-6.0 configs included), {@link dev.loupe.sae.format.SaeFiles}
 * ({@code cfg.json} + {@code sae_weights.safetensors}), and Gemma Scope's {@code params.npz}
 * ({@link dev.loupe.sae.format.NpzReader}, {@link dev.loupe.sae.format.NpyReader},
 * {@link dev.loupe.sae.format.GemmaScope}).
 *
 * <p>Lowest floor of loupe-sae: it uses loupe-core's file formats and errors, never the SAE math
 * ({@code dev.loupe.sae}) or splicing ({@code dev.loupe.sae.splice}). Every file it reads is untrusted:
 * sizes are checked against the bytes that are there, and errors name the file and the field.
 */
package dev.loupe.sae.format;
