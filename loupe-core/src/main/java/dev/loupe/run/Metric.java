package dev.loupe.run;

import ai.djl.ndarray.NDArray;

/**
 * The scalar whose gradient backward hooks see: a function of the run's output (logits
 * [batch, pos, d_vocab_out], or the residual [batch, pos, d_model] when the run stops early).
 * For example the logit difference between two answers.
 */
@FunctionalInterface
public interface Metric {
    /** @return a scalar (shape [] or a single element) computed from {@code output} with NDArray ops */
    NDArray apply(NDArray output);
}
