/**
 * The model: {@link dev.loupe.model.HookedTransformer}, TransformerLens's {@code HookedTransformer}
 * (load, {@code forward}, {@code runWithHooks}, {@code runWithCache}, hook scopes), with its text API
 * ({@link dev.loupe.model.TextMethods}), its stacked weight views
 * ({@link dev.loupe.model.WeightViews}, {@code W_Q} [n_layers, n_heads, d_model, d_head], …) and its
 * QK/OV circuits as factored matrices ({@link dev.loupe.model.Circuits}). Inside, {@code Network}
 * holds the components in order and {@code ForwardRun} performs one run.
 *
 * <p>Floor "the model": it may use everything below it in loupe-core (loading, processing, the
 * Hub, the cache, hooks, components). What merely uses the model belongs on the floor above:
 * analyses that read, patch or score activations go to the {@code dev.loupe.analysis} packages,
 * generation to {@code dev.loupe.generate}, training to {@code dev.loupe.train}, lenses to
 * loupe-lens.
 */
package dev.loupe.model;
