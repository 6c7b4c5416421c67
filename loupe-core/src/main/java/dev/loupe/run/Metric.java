package dev.loupe.run;

import ai.djl.ndarray.NDArray;

/**
 * The scalar whose gradient backward hooks see: a function of the run's output (logits
 * [batch, pos, d_vocab_out], or the residual [batch, pos, d_model] when the run stops early).
 * For example the logit difference between two answers.
 *
 * <p>Multiply or divide by a Java number with {@code dev.loupe.numeric.Scalars} ({@code Scalars.mul(x, 0.5f)})
 * rather than {@code x.mul(0.5f)}: autograd keeps the factor for the backward pass, and DJL's scalar
 * lives in memory that the garbage collector may free before it runs (see {@code Scalars}).
 */
@FunctionalInterface
public interface Metric {
    /** @return a scalar (shape [] or a single element) computed from {@code output} with NDArray ops */
    NDArray apply(NDArray output);
}
