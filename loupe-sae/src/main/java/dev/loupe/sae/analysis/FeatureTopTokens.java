package dev.loupe.sae.analysis;

/**
 * The tokens a feature's direct logits ({@link FeatureLogits}: W_dec[f]·W_U, no b_U, as SAELens's dashboards compute a
 * feature's logit weights) push up most and down most, from {@link FeatureLogits#topTokens}.
 *
 * @param feature the feature
 * @param promotedTokens [n] the tokens with the largest values, largest first (ties: lower id first)
 * @param promoted [n] their values
 * @param suppressedTokens [n] the tokens with the smallest values, smallest first (ties: lower id first)
 * @param suppressed [n] their values
 */
public record FeatureTopTokens(int feature, long[] promotedTokens, float[] promoted, long[] suppressedTokens,
        float[] suppressed) {
    public FeatureTopTokens {
        promotedTokens = promotedTokens.clone();
        promoted = promoted.clone();
        suppressedTokens = suppressedTokens.clone();
        suppressed = suppressed.clone();
    }

    @Override
    public long[] promotedTokens() {
        return promotedTokens.clone();
    }

    @Override
    public float[] promoted() {
        return promoted.clone();
    }

    @Override
    public long[] suppressedTokens() {
        return suppressedTokens.clone();
    }

    @Override
    public float[] suppressed() {
        return suppressed.clone();
    }
}
