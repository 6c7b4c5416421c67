package dev.loupe.lens.causal;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * What removing a subspace did to a model's output on one batch.
 *
 * @param kl {@code KL(p_clean ‖ p_ablated)} of the model's next-token distributions, float32 [batch, pos]
 * @param argmax the ablated model's most likely next token, int64 [batch, pos]
 * @param cleanArgmax the unablated model's most likely next token, int64 [batch, pos]
 */
public record AblationEffect(NDArray kl, NDArray argmax, NDArray cleanArgmax) {

    /** The mean KL over every position. */
    public double meanKl() {
        return kl.mean().getFloat();
    }

    /** The share of positions whose most likely next token the ablation changed. */
    public double changedShare() {
        return argmax.neq(cleanArgmax).toType(DataType.FLOAT32, false).mean().getFloat();
    }
}
