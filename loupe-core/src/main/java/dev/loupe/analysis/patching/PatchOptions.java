package dev.loupe.analysis.patching;

/**
 * How a patching sweep runs. The results are the same either way (up to float rounding).
 *
 * @param naive run TransformerLens's loop: one full forward pass from the tokens per index, no
 *     batching, no reuse (the reference the fast sweep is tested against)
 * @param maxRunsPerBatch the most patched runs stacked into one forward pass
 * @param maxBatchBytes a rough bound on a batched pass's main activations (logits of the positions
 *     the metric reads, and per block run one residual stream, MLP hidden layer and attention pattern),
 *     in bytes; lowers the runs per batch. A pass keeps its temporaries until it ends, so its peak
 *     memory is a few times this.
 * @param skipUnchanged skip runs whose patched slice is identical in the clean and corrupted runs
 *     (the patch changes nothing, so the result is the corrupted run's metric); typical when the
 *     prompts differ in a few tokens only
 */
public record PatchOptions(boolean naive, int maxRunsPerBatch, long maxBatchBytes, boolean skipUnchanged) {
    private static final PatchOptions DEFAULTS = new PatchOptions(false, 64, 256L << 20, true);

    public PatchOptions {
        if (maxRunsPerBatch < 1 || maxBatchBytes < 1) {
            throw new IllegalArgumentException("maxRunsPerBatch and maxBatchBytes must be positive");
        }
    }

    /** Batched runs that start at the patched layer, at most 64 runs or ~256 MB per pass, skipping no-op patches. */
    public static PatchOptions defaults() {
        return DEFAULTS;
    }

    /** TransformerLens's loop, one full forward pass per index. */
    public static PatchOptions naiveLoop() {
        return DEFAULTS.withNaive(true);
    }

    public PatchOptions withNaive(boolean v) {
        return new PatchOptions(v, maxRunsPerBatch, maxBatchBytes, skipUnchanged);
    }

    public PatchOptions withMaxRunsPerBatch(int v) {
        return new PatchOptions(naive, v, maxBatchBytes, skipUnchanged);
    }

    public PatchOptions withMaxBatchBytes(long v) {
        return new PatchOptions(naive, maxRunsPerBatch, v, skipUnchanged);
    }

    public PatchOptions withSkipUnchanged(boolean v) {
        return new PatchOptions(naive, maxRunsPerBatch, maxBatchBytes, v);
    }
}
