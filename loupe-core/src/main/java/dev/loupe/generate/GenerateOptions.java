package dev.loupe.generate;

import java.util.List;

/**
 * TransformerLens's {@code generate} options.
 *
 * @param maxNewTokens how many tokens to add (TransformerLens's default: 10)
 * @param stopAtEos stop a sequence at the end-of-sequence token (it then keeps emitting it)
 * @param eosTokenIds the end-of-sequence ids; empty means the tokenizer's EOS
 * @param doSample sample instead of taking the most likely token
 * @param topK keep only the k most likely tokens when sampling (null: all)
 * @param topP keep the smallest set of tokens whose probability exceeds p (null: all)
 * @param temperature divide the logits by this before sampling
 * @param freqPenalty subtract this times each token's count so far
 * @param usePastKvCache reuse earlier positions' keys and values instead of recomputing them
 * @param seed the sampling seed
 */
public record GenerateOptions(int maxNewTokens, boolean stopAtEos, List<Long> eosTokenIds, boolean doSample,
        Integer topK, Float topP, float temperature, float freqPenalty, boolean usePastKvCache, long seed) {

    public GenerateOptions {
        eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must be ≥ 0, got " + maxNewTokens);
        }
    }

    /** TransformerLens's defaults, but greedy (its default samples). */
    public static GenerateOptions greedy(int maxNewTokens) {
        return new GenerateOptions(maxNewTokens, true, List.of(), false, null, null, 1f, 0f, true, 0L);
    }

    public GenerateOptions withStopAtEos(boolean on) {
        return new GenerateOptions(maxNewTokens, on, eosTokenIds, doSample, topK, topP, temperature, freqPenalty,
                usePastKvCache, seed);
    }

    public GenerateOptions withUsePastKvCache(boolean on) {
        return new GenerateOptions(maxNewTokens, stopAtEos, eosTokenIds, doSample, topK, topP, temperature, freqPenalty,
                on, seed);
    }

    /** Sampling with these settings (null topK/topP: no cut). */
    public GenerateOptions sampling(Integer k, Float p, float t, float penalty, long randomSeed) {
        return new GenerateOptions(maxNewTokens, stopAtEos, eosTokenIds, true, k, p, t, penalty, usePastKvCache,
                randomSeed);
    }

    public GenerateOptions withEosTokenIds(List<Long> ids) {
        return new GenerateOptions(maxNewTokens, stopAtEos, ids, doSample, topK, topP, temperature, freqPenalty,
                usePastKvCache, seed);
    }
}
