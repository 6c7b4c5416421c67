/**
 * TransformerLens's weight processing ({@code from_pretrained}'s steps), one pure function per step
 * in {@link dev.loupe.process.WeightProcessing}: fold LayerNorm, center writing weights, center
 * unembed, fold value biases, refactor factored attention matrices. Each step takes a state dict and
 * config ({@link dev.loupe.process.ProcessedWeights}) and returns new ones, leaving its input
 * untouched; {@link dev.loupe.process.ProcessOptions} says which steps to apply.
 *
 * <p>Floor "adapter contract, processing, caches, the Hub": it may use everything up to and
 * including {@code dev.loupe.io} (it uses {@code dev.loupe.linalg} to refactor W_Q/W_K and
 * W_V/W_O), not the other packages of its floor. Applying the steps to a model being loaded is
 * {@code dev.loupe.model} ({@code HookedTransformer.fromPretrained}); converting a checkpoint's
 * layout is the adapters' job, not processing.
 */
package dev.loupe.process;
