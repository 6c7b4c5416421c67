package dev.loupe.sae.features;

import dev.loupe.LoupeException;

/**
 * How much a {@link FeatureHarvest} keeps of each feature.
 *
 * @param topContexts the most-activating contexts kept per feature (one per sequence: its maximum)
 * @param tokensBefore tokens kept before a context's maximum
 * @param tokensAfter tokens kept after it
 * @param histogramBins bins of the activation histogram, a power of two (see {@link ActivationHistogram})
 * @param batchSize sequences per forward pass; 0 picks one that keeps a batch's activations
 *     [batch, pos, d_sae] near 16 M floats
 */
public record FeatureOptions(int topContexts, int tokensBefore, int tokensAfter, int histogramBins, int batchSize) {
    public FeatureOptions {
        if (topContexts < 1) {
            throw new LoupeException("Keep at least one context per feature, got " + topContexts);
        }
        if (tokensBefore < 0 || tokensAfter < 0) {
            throw new LoupeException("Tokens around a context's maximum cannot be negative, got " + tokensBefore
                    + " before and " + tokensAfter + " after");
        }
        if (histogramBins < 1 || Integer.bitCount(histogramBins) != 1) {
            throw new LoupeException("The histogram needs a power-of-two number of bins (8, 16, 32 …), got "
                    + histogramBins);
        }
        if (batchSize < 0) {
            throw new LoupeException("The batch size must be positive (or 0 to pick one), got " + batchSize);
        }
    }

    /** 20 contexts of 12 tokens before and 4 after the maximum, 32 bins, the batch size picked. */
    public static FeatureOptions defaults() {
        return new FeatureOptions(20, 12, 4, 32, 0);
    }

    /** These options keeping {@code n} contexts per feature. */
    public FeatureOptions withTopContexts(int n) {
        return new FeatureOptions(n, tokensBefore, tokensAfter, histogramBins, batchSize);
    }

    /** These options running {@code n} sequences per forward pass. */
    public FeatureOptions withBatchSize(int n) {
        return new FeatureOptions(topContexts, tokensBefore, tokensAfter, histogramBins, n);
    }
}
