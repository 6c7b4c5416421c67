/**
 * The activations of one run and TransformerLens's analyses of them:
 * {@link dev.loupe.cache.ActivationCache} holds every cached activation by hook name (and
 * {@code <name>_grad} gradients when asked), owns their memory, and computes the residual-stream
 * stacks and decompositions ({@code accumulatedResid}, {@code decomposeResid},
 * {@code stackHeadResults}, {@code logitAttrs}, …, as {@link dev.loupe.cache.LabelledStack}s of
 * [components, batch, pos, d_model]); {@link dev.loupe.cache.CacheOptions},
 * {@link dev.loupe.cache.StackOptions} and {@link dev.loupe.cache.PosSlice} are their arguments.
 *
 * <p>Floor "adapter contract, processing, caches, the Hub": it may use everything up to and
 * including {@code dev.loupe.io}, not the other packages of its floor. The cache sees the model
 * that filled it only through {@link dev.loupe.cache.CacheModel} (config, parameters, final
 * norm), so it does not depend on {@code dev.loupe.model}, which fills it. Analyses that have to
 * run the model again (patching, attribution, head detection) go to {@code dev.loupe.analysis}.
 */
package dev.loupe.cache;
