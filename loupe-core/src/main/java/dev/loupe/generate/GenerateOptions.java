package dev.loupe.generate;

import dev.loupe.tokenize.PaddingSide;
import java.util.List;

/**
 * TransformerLens's {@code generate} options. Build them with {@link #builder()} (TransformerLens's
 * defaults, which sample) or start from {@link #greedy(int)}.
 *
 * @param maxNewTokens how many tokens to add (TransformerLens's default: 10); with the prompt they must
 *     fit the model's context, n_ctx, which {@link Generator} checks before it allocates anything
 * @param stopAtEos stop a sequence at the end-of-sequence token (it then keeps emitting it)
 * @param eosTokenIds the end-of-sequence ids; empty means the tokenizer's EOS
 * @param doSample sample instead of taking the most likely token
 * @param topK keep only the k most likely tokens when sampling (null: all)
 * @param topP keep the smallest set of tokens whose probability exceeds p (null: all)
 * @param temperature divide the logits by this before sampling
 * @param freqPenalty subtract this times each token's count so far
 * @param usePastKvCache reuse earlier positions' keys and values instead of recomputing them
 * @param prependBos for text prompts: put the BOS token first (null: the model's default)
 * @param paddingSide for text prompts of different lengths; only {@link PaddingSide#LEFT} lets every
 *     prompt end at the last position, where the next token is read, so a right-padded batch of
 *     unequal prompts is refused
 * @param seed the sampling seed
 */
public record GenerateOptions(int maxNewTokens, boolean stopAtEos, List<Long> eosTokenIds, boolean doSample,
        Integer topK, Float topP, float temperature, float freqPenalty, boolean usePastKvCache, Boolean prependBos,
        PaddingSide paddingSide, long seed) {

    public GenerateOptions {
        eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
        paddingSide = paddingSide == null ? PaddingSide.LEFT : paddingSide;
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must be ≥ 0, got " + maxNewTokens);
        }
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        }
        if (topK != null && topK <= 0) {
            throw new IllegalArgumentException("topK must be > 0, got " + topK);
        }
        if (topP != null && !(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
    }

    /** TransformerLens's defaults: 10 new tokens, sampled, stopping at EOS, with the cache. */
    public static Builder builder() {
        return new Builder();
    }

    /** TransformerLens's defaults, but greedy (its default samples). */
    public static GenerateOptions greedy(int maxNewTokens) {
        return builder().maxNewTokens(maxNewTokens).doSample(false).build();
    }

    /** A builder holding these options. */
    public Builder toBuilder() {
        return new Builder().maxNewTokens(maxNewTokens).stopAtEos(stopAtEos).eosTokenIds(eosTokenIds)
                .doSample(doSample).topK(topK).topP(topP).temperature(temperature).freqPenalty(freqPenalty)
                .usePastKvCache(usePastKvCache).prependBos(prependBos).paddingSide(paddingSide).seed(seed);
    }

    public GenerateOptions withStopAtEos(boolean on) {
        return toBuilder().stopAtEos(on).build();
    }

    public GenerateOptions withUsePastKvCache(boolean on) {
        return toBuilder().usePastKvCache(on).build();
    }

    public GenerateOptions withEosTokenIds(List<Long> ids) {
        return toBuilder().eosTokenIds(ids).build();
    }

    /** Sampling with these settings (null topK/topP: no cut). */
    public GenerateOptions sampling(Integer k, Float p, float t, float penalty, long randomSeed) {
        return toBuilder().doSample(true).topK(k).topP(p).temperature(t).freqPenalty(penalty).seed(randomSeed).build();
    }

    /** Builds {@link GenerateOptions}; starts from TransformerLens's defaults. */
    public static final class Builder {
        private int maxNewTokens = 10;
        private boolean stopAtEos = true;
        private List<Long> eosTokenIds = List.of();
        private boolean doSample = true;
        private Integer topK;
        private Float topP;
        private float temperature = 1f;
        private float freqPenalty;
        private boolean usePastKvCache = true;
        private Boolean prependBos;
        private PaddingSide paddingSide = PaddingSide.LEFT;
        private long seed;

        private Builder() {}

        public Builder maxNewTokens(int n) {
            maxNewTokens = n;
            return this;
        }

        public Builder stopAtEos(boolean on) {
            stopAtEos = on;
            return this;
        }

        public Builder eosTokenIds(List<Long> ids) {
            eosTokenIds = ids;
            return this;
        }

        public Builder doSample(boolean on) {
            doSample = on;
            return this;
        }

        public Builder topK(Integer k) {
            topK = k;
            return this;
        }

        public Builder topP(Float p) {
            topP = p;
            return this;
        }

        public Builder temperature(float t) {
            temperature = t;
            return this;
        }

        public Builder freqPenalty(float penalty) {
            freqPenalty = penalty;
            return this;
        }

        public Builder usePastKvCache(boolean on) {
            usePastKvCache = on;
            return this;
        }

        public Builder prependBos(Boolean prepend) {
            prependBos = prepend;
            return this;
        }

        public Builder paddingSide(PaddingSide side) {
            paddingSide = side;
            return this;
        }

        public Builder seed(long randomSeed) {
            seed = randomSeed;
            return this;
        }

        public GenerateOptions build() {
            return new GenerateOptions(maxNewTokens, stopAtEos, eosTokenIds, doSample, topK, topP, temperature,
                    freqPenalty, usePastKvCache, prependBos, paddingSide, seed);
        }
    }
}
