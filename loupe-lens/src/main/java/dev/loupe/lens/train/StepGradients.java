package dev.loupe.lens.train;

import ai.djl.ndarray.NDArray;
import dev.loupe.tokenize.TokenChunks;
import java.util.List;

/**
 * Where {@link TunedLensTrainer} gets a step's gradient sums when they are not computed in its own JVM: a
 * data-parallel trainer sends the lens to other machines, each computes {@link TunedLensTrainer#passGradients} over its
 * share of the step's passes, and the sums are added up.
 */
@FunctionalInterface
public interface StepGradients {
    /**
     * Adds the gradients of step {@code step} (the lens as it is now) into {@code sums} and returns the per-layer
     * losses [n_layers].
     *
     * @param order the training data in the order the trainer reads it ({@code step·sequencesPerStep} on)
     * @param sums zeroed arrays, one per trained parameter in {@link TunedLensTrainer#trainedParameters} order
     */
    double[] compute(long step, TokenChunks order, List<NDArray> sums);
}
