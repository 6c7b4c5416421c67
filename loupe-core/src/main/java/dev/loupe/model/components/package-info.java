/**
 * The layers a transformer is built from, with TransformerLens's parameter names, shapes and hook
 * points: {@link dev.loupe.model.components.Embed}, {@link dev.loupe.model.components.PosEmbed},
 * {@link dev.loupe.model.components.LayerNorm} and {@link dev.loupe.model.components.RmsNorm}
 * (behind {@link dev.loupe.model.components.Norm}), {@link dev.loupe.model.components.Attention}
 * (with {@link dev.loupe.model.components.QkNorm}, {@link dev.loupe.model.components.Rotary} and
 * {@link dev.loupe.model.components.Alibi}),
 * {@link dev.loupe.model.components.Mlp}, {@link dev.loupe.model.components.GatedMlp} and
 * {@link dev.loupe.model.components.MixtureOfExperts} (of {@link dev.loupe.model.components.Expert}s, run
 * together in grouped products by the package-private {@code GroupedExperts} where MKL allows),
 * {@link dev.loupe.model.components.TransformerBlock} and
 * {@link dev.loupe.model.components.Unembed}. {@link dev.loupe.model.components.HookCatalog} lists
 * the hook points they declare, with their shapes.
 *
 * <p>Floor "components": it may use {@code dev.loupe.load} and everything below. Each component
 * computes its own layer only: putting them in order and driving a run (hook scopes, caching,
 * gradients) is {@code dev.loupe.model}; converting checkpoint layouts is the adapters' job.
 */
package dev.loupe.model.components;
