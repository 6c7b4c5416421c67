package dev.loupe.analysis.patching;

import ai.djl.ndarray.NDArray;

/**
 * TransformerLens's {@code patch_setter}: puts the indexed slice of the clean activation into the
 * corrupted one. {@link PatchSetters} holds TransformerLens's six setters.
 *
 * <p>A custom setter works in both the naive and the batched sweep (the batched one calls it on each
 * run's rows); the built-in ones are faster there because they are turned into one mask per batch.
 * Arrays a setter makes should come from {@code corrupted} (e.g. {@code corrupted.getManager()}), so
 * that they are freed with the run; slices of {@code clean} should be closed.
 */
@FunctionalInterface
public interface PatchSetter {
    /**
     * @param corrupted the corrupted run's activation [batch, ...] (e.g. [batch, pos, d_model] for
     *     {@code resid_pre}, [batch, pos, head_index, d_head] for {@code z}, [batch, head_index,
     *     dest_pos, src_pos] for {@code pattern}); may be changed in place
     * @param index the patch's index, layer first (e.g. {layer, pos})
     * @param clean the clean run's activation, same shape
     * @return the patched activation (may be {@code corrupted} itself)
     */
    NDArray apply(NDArray corrupted, int[] index, NDArray clean);
}
