package dev.loupe.sae.features;

import java.util.List;

/**
 * What one feature did over a corpus.
 *
 * @param feature its index in the SAE, 0 ≤ feature &lt; d_sae
 * @param activeTokens the tokens it was active on (activation &gt; 0)
 * @param tokens every token of the corpus
 * @param maxActivation its largest activation (0 if it never fired)
 * @param histogram its positive activations in bins
 * @param contexts its top-activating contexts, most active first (ties: earlier sequence first); empty when the
 *     feature never fired or its contexts were not kept
 */
public record FeatureActivity(int feature, long activeTokens, long tokens, float maxActivation,
        ActivationHistogram histogram, List<FeatureContext> contexts) {
    public FeatureActivity {
        contexts = List.copyOf(contexts);
    }

    /** The fraction of tokens it was active on (SAELens's {@code feature_density}). */
    public double density() {
        return tokens == 0 ? 0 : (double) activeTokens / tokens;
    }
}
