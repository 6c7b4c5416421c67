package dev.loupe.process;

/**
 * Which of TransformerLens's weight-processing steps to apply, with {@code from_pretrained}'s defaults.
 *
 * @param foldLn fold each LayerNorm/RMSNorm's weight (and LayerNorm's bias) into the maps that read
 *     from it, leaving LNPre/RMSPre
 * @param centerWritingWeights make every weight that writes to the residual stream zero-mean over
 *     d_model (LayerNorm models only)
 * @param centerUnembed make {@code W_U} and {@code b_U} zero-mean over the vocabulary (logits then
 *     lose their per-position mean; log-probs are unchanged)
 * @param foldValueBiases move {@code b_V} into {@code b_O}
 * @param refactorFactoredAttnMatrices rebalance W_Q/W_K and W_V/W_O (not for rotary models)
 */
public record ProcessOptions(boolean foldLn, boolean centerWritingWeights, boolean centerUnembed,
        boolean foldValueBiases, boolean refactorFactoredAttnMatrices) {

    /** TransformerLens's {@code from_pretrained} defaults: everything but the refactoring. */
    public static ProcessOptions defaults() {
        return new ProcessOptions(true, true, true, true, false);
    }

    /** No processing at all ({@code from_pretrained_no_processing}). */
    public static ProcessOptions none() {
        return new ProcessOptions(false, false, false, false, false);
    }

    public ProcessOptions withFoldLn(boolean on) {
        return new ProcessOptions(on, centerWritingWeights, centerUnembed, foldValueBiases, refactorFactoredAttnMatrices);
    }

    public ProcessOptions withCenterWritingWeights(boolean on) {
        return new ProcessOptions(foldLn, on, centerUnembed, foldValueBiases, refactorFactoredAttnMatrices);
    }

    public ProcessOptions withCenterUnembed(boolean on) {
        return new ProcessOptions(foldLn, centerWritingWeights, on, foldValueBiases, refactorFactoredAttnMatrices);
    }

    public ProcessOptions withFoldValueBiases(boolean on) {
        return new ProcessOptions(foldLn, centerWritingWeights, centerUnembed, on, refactorFactoredAttnMatrices);
    }

    public ProcessOptions withRefactorFactoredAttnMatrices(boolean on) {
        return new ProcessOptions(foldLn, centerWritingWeights, centerUnembed, foldValueBiases, on);
    }
}
