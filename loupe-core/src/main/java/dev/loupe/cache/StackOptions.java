package dev.loupe.cache;

/**
 * The keyword arguments of TransformerLens's residual-stream stacks ({@code accumulated_resid},
 * {@code decompose_resid}, {@code stack_head_results}).
 *
 * @param layer stop before this block (null or -1: the whole model, n_layers)
 * @param inclMid also {@code resid_mid} of the layers before {@code layer} (accumulated)
 * @param applyLn divide by the cached norm scale (recomputed through ln_final for the whole model in
 *     {@code accumulatedResid}), centring first for LayerNorm models, as TransformerLens does
 * @param posSlice positions to keep
 * @param mlpInput stop at the MLP input of {@code layer} instead of its attention input
 * @param inclEmbeds include the embeddings (decompose)
 * @param mode "all", "mlp" or "attn" (decompose)
 * @param inclRemainder add what the heads do not account for (stack of heads)
 */
public record StackOptions(Integer layer, boolean inclMid, boolean applyLn, PosSlice posSlice, boolean mlpInput,
        boolean inclEmbeds, String mode, boolean inclRemainder) {

    public StackOptions {
        posSlice = posSlice == null ? PosSlice.all() : posSlice;
        mode = mode == null ? "all" : mode;
    }

    /** TransformerLens's defaults. */
    public static StackOptions defaults() {
        return new StackOptions(null, false, false, null, false, true, "all", false);
    }

    public StackOptions withLayer(int value) {
        return new StackOptions(value, inclMid, applyLn, posSlice, mlpInput, inclEmbeds, mode, inclRemainder);
    }

    public StackOptions withInclMid(boolean value) {
        return new StackOptions(layer, value, applyLn, posSlice, mlpInput, inclEmbeds, mode, inclRemainder);
    }

    public StackOptions withApplyLn(boolean value) {
        return new StackOptions(layer, inclMid, value, posSlice, mlpInput, inclEmbeds, mode, inclRemainder);
    }

    public StackOptions withPosSlice(PosSlice value) {
        return new StackOptions(layer, inclMid, applyLn, value, mlpInput, inclEmbeds, mode, inclRemainder);
    }

    public StackOptions withMlpInput(boolean value) {
        return new StackOptions(layer, inclMid, applyLn, posSlice, value, inclEmbeds, mode, inclRemainder);
    }

    public StackOptions withInclEmbeds(boolean value) {
        return new StackOptions(layer, inclMid, applyLn, posSlice, mlpInput, value, mode, inclRemainder);
    }

    public StackOptions withMode(String value) {
        return new StackOptions(layer, inclMid, applyLn, posSlice, mlpInput, inclEmbeds, value, inclRemainder);
    }

    public StackOptions withInclRemainder(boolean value) {
        return new StackOptions(layer, inclMid, applyLn, posSlice, mlpInput, inclEmbeds, mode, value);
    }
}
