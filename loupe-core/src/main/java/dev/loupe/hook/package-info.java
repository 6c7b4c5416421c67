/**
 * Hooks, as TransformerLens has them: {@link dev.loupe.hook.HookPoint} (a named identity on the
 * forward path, {@code blocks.3.attn.hook_pattern}), {@link dev.loupe.hook.Hook} and
 * {@link dev.loupe.hook.BackwardHook} (what runs there), {@link dev.loupe.hook.HookSpec} (a hook
 * and the names it applies to), {@link dev.loupe.hook.HookRegistry} (every hook point of a model
 * and the model-level hooks attached to it, in nested scopes, copy-on-write),
 * {@link dev.loupe.hook.AttachedHooks} (an immutable set of hooks: the model's, plus a run's own,
 * bound to the run's thread while it computes, so that runs on several threads never see each
 * other's hooks) and {@link dev.loupe.hook.ActName} ({@code utils.get_act_name}'s shorthand,
 * {@code ("pattern", 3)}). A {@link dev.loupe.hook.Splice} is a module that replaces a hook point for a
 * run or a scope and brings hook points of its own (a spliced view of the registry holds them), as
 * SAELens splices a sparse autoencoder in; what such a module computes lives in the modules above core.
 *
 * <p>Floor "hooks, text, file formats": it may use {@code dev.loupe}, the numeric helpers,
 * {@code dev.loupe.linalg}, {@code dev.loupe.config} and {@code dev.loupe.run}, not the tokenizer
 * or file formats beside it. Which hook points a model has, with their shapes, is declared by the
 * components ({@code dev.loupe.model.components.HookCatalog}); attaching a run's hooks and
 * differentiating through them is {@code dev.loupe.model}; keeping activations is
 * {@code dev.loupe.cache}.
 */
package dev.loupe.hook;
