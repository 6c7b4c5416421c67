package dev.loupe.spark.harvest;

import ai.djl.ndarray.NDArray;

/** A hook's activation turned to [batch, pos, …] so that each token's values are one slice. */
final class TokenActivations {
    private TokenActivations() {}

    /**
     * {@code activation} with the position axis second: attention patterns and scores [batch, head, query, key]
     * become [batch, query, head, key]; every other hook already is [batch, pos, …].
     */
    static NDArray byToken(String hook, NDArray activation) {
        if (hook.endsWith("hook_pattern") || hook.endsWith("hook_attn_scores")) {
            return activation.transpose(0, 2, 1, 3);
        }
        return activation;
    }
}
