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
        return klFromLogProbs(finalLogits.logSoftmax(-1), lensLogits);
    }

    /**
     * As {@link #klDivergence} with the output's log-probabilities computed once (a trainer reuses
     * them for every layer): log p [..., d_vocab] and lens logits [..., d_vocab] → [...].
     */
    public static NDArray klFromLogProbs(NDArray finalLogProbs, NDArray lensLogits) {
        NDArray logQ = lensLogits.logSoftmax(-1);
        return finalLogProbs.exp().mul(finalLogProbs.sub(logQ)).sum(new int[] {-1});
    }

    /** Cross-entropy {@code −log q(label)}: logits [batch, pos, d_vocab] and int64 labels [batch, pos] → [batch, pos]. */
    public static NDArray crossEntropy(NDArray logits, NDArray labels) {
        return logits.logSoftmax(-1).gather(labels.expandDims(-1), -1).squeeze(-1).neg();
    }

    /** Predictions at positions [0, pos − shift): x [batch, pos, ...] → [batch, pos − shift, ...] (the library's shift_preds). */
    public static NDArray shiftPredictions(NDArray x, int shift) {
        return shift == 0 ? x : x.get(":, 0:" + (x.getShape().get(1) - shift));
    }

    /** Targets at positions [shift, pos): x [batch, pos, ...] → [batch, pos − shift, ...] (the library's shift_labels). */
    public static NDArray shiftLabels(NDArray x, int shift) {
        return shift == 0 ? x : x.get(":, " + shift + ":");
    }

    /** Entropy {@code −Σ p log p} of logits [..., d_vocab] → [...]. */
    public static NDArray entropy(NDArray logits) {
        NDArray logP = logits.logSoftmax(-1);
        return logP.exp().mul(logP).sum(new int[] {-1}).neg();
    }
}
