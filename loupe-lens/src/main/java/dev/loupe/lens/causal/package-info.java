/**
 * Causal fidelity of lenses (the tuned-lens paper's section on causal bases): removing a subspace of
 * the residual stream while the model runs ({@link dev.loupe.lens.causal.SubspaceAblation}, a hook
 * any run can use), measuring what that does to the model's output
 * ({@link dev.loupe.lens.causal.CausalFidelity}), and finding the directions a lens depends on most,
 * {@link dev.loupe.lens.causal.CausalBasis}.
 *
 * <pre>{@code
 * NDArray basis = ...;                                          // [d_model, k]
 * HookSpec ablation = SubspaceAblation.ablateSubspace(basis, "blocks.0.hook_resid_post", AblationMode.MEAN);
 * NDArray logits = model.runWithHooks(tokens, ablation);        // the model without that subspace
 * }</pre>
 *
 * <p>Floor "lens experiments": it may use {@code dev.loupe.lens} and all of loupe-core, nothing
 * of {@code dev.loupe.lens.train}, {@code dev.loupe.lens.eval} or {@code dev.loupe.lens.decode}.
 */
package dev.loupe.lens.causal;
