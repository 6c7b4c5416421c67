/**
 * Text generation, as TransformerLens's {@code generate}: {@link dev.loupe.generate.Generator}
 * extends token ids one token at a time, greedily or by sampling, reusing earlier positions' keys
 * and values; {@link dev.loupe.generate.TextGenerator} does the same from and to text (left-padded
 * batches); {@link dev.loupe.generate.GenerateOptions} holds TransformerLens's options and
 * {@link dev.loupe.generate.Sampling} is its {@code sample_logits} (top-k, top-p, temperature,
 * penalties) on final logits [batch, d_vocab], from a seeded {@code Random};
 * {@link dev.loupe.generate.NextTokenLogits} says where a step reads its logits (the model's output,
 * or a lens on an intermediate layer, which loupe-lens supplies).
 *
 * <p>Floor "uses of the model": it may use everything in loupe-core up to and including
 * {@code dev.loupe.model}, not the analysis or training packages beside it. The key/value cache
 * itself is a run's input ({@code dev.loupe.run.KeyValueCache}) and the forward pass is
 * {@code dev.loupe.model}'s; only the generation loop and sampling belong here.
 */
package dev.loupe.generate;
