package dev.loupe.hook;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * A module that takes the place of a hook point: while it is spliced in, the model continues with what
 * {@link #forward} returns instead of the point's activation, the point itself leaves the run's hook
 * names (it can no longer be hooked or cached), and the module's own hook points take its place, named
 * {@code target + "." + name} ({@code blocks.0.hook_resid_pre.hook_sae_acts_post}). Those points are
 * ordinary hook points of the run: hooks attach to them by name or filter, caches record them, backward
 * hooks see their gradients.
 *
 * <p>A splice may also read the activations of other hook points that fire before its target in the
 * same run ({@link #reads()}); it gets them through {@link Context#read(String)}. A splice is shared by
 * every run it is attached to, on any thread: it must keep no state of its own between calls.
 */
public interface Splice {
    /** The hook point it replaces, e.g. {@code blocks.0.hook_resid_pre}. */
    String target();

    /** Its own hook points, relative to {@link #target()} ({@code hook_sae_input}), in firing order. */
    List<String> hookNames();

    /** Hook points (full names) whose activation it reads; each must fire before {@link #target()}. */
    default List<String> reads() {
        return List.of();
    }

    /**
     * What the model continues with in place of {@code activation}.
     *
     * @param activation the activation at {@link #target()}, after the hooks of the points before it
     * @param context fires its own hook points and gives the activations it reads
     * @return a tensor of {@code activation}'s shape and dtype
     */
    NDArray forward(NDArray activation, Context context);

    /** What a splice can do during its call: fire its hook points and read earlier activations. */
    interface Context {
        /**
         * Runs the hooks attached to its point {@code name} (one of {@link Splice#hookNames()}).
         *
         * @return the activation after those hooks
         */
        NDArray fire(String name, NDArray activation);

        /** The activation that the point {@code name} (one of {@link Splice#reads()}) had in this run. */
        NDArray read(String name);
    }
}
