/**
 * Decoding from a layer: generation whose next token is read through a lens at an intermediate
 * layer instead of the model's output ({@link dev.loupe.lens.decode.LayerDecoding}), greedy or
 * sampled, batched, with the key/value cache of loupe-core's generation loop.
 *
 * <pre>{@code
 * NDArray out = LayerDecoding.generate(model, tunedLens, 3, prompt, null, GenerateOptions.greedy(8));
 * }</pre>
 *
 * <p>Floor "lens experiments": it may use {@code dev.loupe.lens} and all of loupe-core, nothing
 * of {@code dev.loupe.lens.train}, {@code dev.loupe.lens.eval} or {@code dev.loupe.lens.causal}.
 */
package dev.loupe.lens.decode;
