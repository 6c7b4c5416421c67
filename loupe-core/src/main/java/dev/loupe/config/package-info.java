/**
 * The model's configuration values: {@link dev.loupe.config.TransformerConfig}, TransformerLens's
 * {@code HookedTransformerConfig} as a record (read and written as JSON under TransformerLens's
 * snake_case keys), and {@link dev.loupe.config.WeightDtype}, how a model keeps its weights in
 * memory. Every architecture is described by one config; components branch on it only where the
 * math differs.
 *
 * <p>Floor "the model's config": it may use {@code dev.loupe}, {@code dev.loupe.numeric} and
 * {@code dev.loupe.linalg}. Only plain values belong here: nothing that holds tensors or runs the
 * model. Reading a Hugging Face {@code config.json} into a config is the adapters' job
 * ({@code dev.loupe.load.spi.HfConfig}, {@code dev.loupe.load.adapters}).
 */
package dev.loupe.config;
