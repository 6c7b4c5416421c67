package dev.loupe.hook;

import ai.djl.ndarray.NDArray;

/**
 * A backward hook: observes the gradient of the run's scalar metric (the mean loss unless the caller
 * gives another) with respect to the activation at a {@link HookPoint}. It is read-only: the gradient
 * it receives is a copy, and anything it returns is ignored.
 */
@FunctionalInterface
public interface BackwardHook {
    /**
     * @param gradient d(metric)/d(activation), the activation's shape
     * @param point where the activation was taken
     */
    void accept(NDArray gradient, HookPoint point);
}
