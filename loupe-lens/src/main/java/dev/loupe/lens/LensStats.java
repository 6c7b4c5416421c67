package dev.loupe.lens;

import ai.djl.ndarray.NDArray;

/** The per-position statistics lenses are judged by, in nats, as the Python library computes them. */
public final class LensStats {
    private LensStats() {}

    /**
     * Forward KL from the model's output to a lens, {@code KL(p_final ‖ q_lens) = Σ_v p_final
     * (log p_final − log q_lens)}: logits [..., d_vocab] twice → [...]. No token shift.
     */
    public static NDArray klDivergence(NDArray finalLogits, NDArray lensLogits) {
        NDArray logP = finalLogits.logSoftmax(-1);
        NDArray logQ = lensLogits.logSoftmax(-1);
        return logP.exp().mul(logP.sub(logQ)).sum(new int[] {-1});
    }

    /** Entropy {@code −Σ p log p} of logits [..., d_vocab] → [...]. */
    public static NDArray entropy(NDArray logits) {
        NDArray logP = logits.logSoftmax(-1);
        return logP.exp().mul(logP).sum(new int[] {-1}).neg();
    }
}
