package dev.loupe.run;

import ai.djl.ndarray.NDArray;

/**
 * Options of a forward pass, as TransformerLens's {@code forward} keyword arguments.
 *
 * <pre>{@code
 * model.forward(tokens, ForwardOptions.builder().returnType(ReturnType.BOTH).lossPerToken(true).build());
 * model.forward(resid, ForwardOptions.builder().startAtLayer(3).build());   // resid [batch, pos, d_model]
 * }</pre>
 *
 * @param returnType what to return
 * @param lossPerToken whether the loss is [batch, pos - 1] instead of its mean
 * @param attentionMask [batch, pos] of 1 (real token) and 0 (padding), int64 or boolean, or null
 * @param startAtLayer if set, the input is the residual stream [batch, pos, d_model] entering this
 *     block (negative counts from the end)
 * @param stopAtLayer if set, run blocks before this one only and return the residual stream
 *     (0 = just the embeddings; n_layers = every block, without the final norm and unembedding;
 *     negative counts from the end)
 * @param tokens the tokens, for the loss when the input is a residual stream
 * @param metric the scalar backward hooks differentiate; null means the mean loss
 * @param pastKvCache earlier positions' keys and values: the input holds only the new tokens, which
 *     attend to the cached ones and are added to the cache (unless it is frozen); null for none
 */
public record ForwardOptions(
        ReturnType returnType,
        boolean lossPerToken,
        NDArray attentionMask,
        Integer startAtLayer,
        Integer stopAtLayer,
        NDArray tokens,
        Metric metric,
        KeyValueCache pastKvCache) {

    private static final ForwardOptions DEFAULTS = builder().build();

    public ForwardOptions {
        if (returnType == null) {
            returnType = ReturnType.LOGITS;
        }
    }

    /** Logits, no mask, all layers. */
    public static ForwardOptions defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().returnType(returnType).lossPerToken(lossPerToken).attentionMask(attentionMask)
                .startAtLayer(startAtLayer).stopAtLayer(stopAtLayer).tokens(tokens).metric(metric).pastKvCache(pastKvCache);
    }

    /** Builds {@link ForwardOptions}. */
    public static final class Builder {
        private ReturnType returnType = ReturnType.LOGITS;
        private boolean lossPerToken;
        private NDArray attentionMask;
        private Integer startAtLayer;
        private Integer stopAtLayer;
        private NDArray tokens;
        private Metric metric;
        private KeyValueCache pastKvCache;

        private Builder() {}

        public Builder returnType(ReturnType v) { returnType = v; return this; }
        public Builder lossPerToken(boolean v) { lossPerToken = v; return this; }
        public Builder attentionMask(NDArray v) { attentionMask = v; return this; }
        public Builder startAtLayer(Integer v) { startAtLayer = v; return this; }
        public Builder stopAtLayer(Integer v) { stopAtLayer = v; return this; }
        public Builder tokens(NDArray v) { tokens = v; return this; }
        public Builder metric(Metric v) { metric = v; return this; }
        public Builder pastKvCache(KeyValueCache v) { pastKvCache = v; return this; }

        public ForwardOptions build() {
            return new ForwardOptions(returnType, lossPerToken, attentionMask, startAtLayer, stopAtLayer, tokens, metric,
                    pastKvCache);
        }
    }
}
