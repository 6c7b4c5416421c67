package dev.loupe.server.explore;

import dev.loupe.LoupeException;

/**
 * What one request may ask of the server, so that no request can hold it for long or fill its memory.
 *
 * @param maxPromptTokens the longest prompt in tokens (the model's n_ctx caps it further)
 * @param maxNewTokens the most tokens one generation may add
 * @param maxTopK the most top predictions per position
 * @param maxPatchRuns the most patched runs one patching map may take (layers × columns)
 * @param maxInterventions the most interventions in one request
 */
public record Limits(int maxPromptTokens, int maxNewTokens, int maxTopK, int maxPatchRuns, int maxInterventions) {

    public Limits {
        if (maxPromptTokens < 2 || maxNewTokens < 1 || maxTopK < 1 || maxPatchRuns < 1 || maxInterventions < 0) {
            throw new LoupeException("Limits must be positive (a prompt of at least 2 tokens), got " + maxPromptTokens
                    + ", " + maxNewTokens + ", " + maxTopK + ", " + maxPatchRuns + ", " + maxInterventions);
        }
    }

    /** 256 prompt tokens, 64 new tokens, top 10, 4096 patched runs, 16 interventions. */
    public static Limits defaults() {
        return new Limits(256, 64, 10, 4096, 16);
    }

    /** {@code topK} (or 5 when absent), refused beyond {@link #maxTopK()}. */
    public int topK(Integer topK) {
        int k = topK == null ? 5 : topK;
        if (k < 1 || k > maxTopK) {
            throw new LoupeException("topK must be 1.." + maxTopK + ", got " + k);
        }
        return k;
    }
}
