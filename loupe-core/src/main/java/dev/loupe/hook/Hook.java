package dev.loupe.hook;

import ai.djl.ndarray.NDArray;

/**
 * A forward hook: sees the activation at a {@link HookPoint} and may return it, return a changed
 * copy, or change it in place. Returning {@code null} means "unchanged". A returned tensor must have
 * the activation's shape.
 *
 * <p>A hook runs on the thread of the run it belongs to. In a run that records gradients (backward
 * hooks, cached gradients), multiply or divide by a Java number with {@code dev.loupe.numeric.Scalars}
 * ({@code Scalars.mul(z, 0f)}) rather than {@code z.mul(0)}: autograd keeps the factor, and DJL's
 * scalar lives in memory that the garbage collector may free before the backward pass.
 *
 * <p>The activation lives only as long as the forward pass; keep what you need with
 * {@code runWithCache}, or copy it ({@code a.duplicate()}) and attach the copy to your own manager.
 */
@FunctionalInterface
public interface Hook {
    /**
     * @param activation the activation, shaped as the hook point documents (e.g. {@code hook_z}:
     *     [batch, pos, head_index, d_head])
     * @param point where it fires; {@link HookPoint#name()} and {@link HookPoint#layer()} say which
     * @return the activation to continue with, or {@code null} to keep {@code activation}
     */
    NDArray apply(NDArray activation, HookPoint point);
}
