package dev.loupe.analysis.experts;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/**
 * Which experts one mixture-of-experts layer chose for each token, and with what weights.
 *
 * @param indices int64 [batch, pos, top_k]: the chosen experts, most probable first (the model's
 *     {@code hook_expert_indices}, reshaped)
 * @param weights float32 [batch, pos, top_k]: the weights of those experts' outputs, their router
 *     probabilities renormalised to sum to 1 (Hugging Face's {@code router_top_k_weights})
 * @param probabilities float32 [batch, pos, n_experts]: the router's softmax over all experts (the
 *     model's {@code hook_expert_weights}, reshaped)
 */
public record ExpertChoice(NDArray indices, NDArray weights, NDArray probabilities) {

    /** The experts token {@code (batchIndex, position)} went to, most probable first. */
    public long[] expertsOf(int batchIndex, int position) {
        return indices.get(new NDIndex(batchIndex + ", " + position)).toLongArray();
    }

    /** The weights of {@link #expertsOf(int, int)}'s experts for that token; they sum to 1. */
    public float[] weightsOf(int batchIndex, int position) {
        return weights.get(new NDIndex(batchIndex + ", " + position)).toFloatArray();
    }

    /** Boolean [batch, pos]: whether each token went to {@code expert}. */
    public NDArray routedTo(int expert) {
        return indices.eq(expert).toType(DataType.INT64, false).sum(new int[] {-1}).gt(0);
    }
}
