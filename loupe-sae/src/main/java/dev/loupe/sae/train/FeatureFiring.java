package dev.loupe.sae.train;

import java.util.Arrays;

/**
 * SAELens's dead-feature statistics of a run: for each of the d_sae features, the steps since it last fired
 * ({@code n_forward_passes_since_fired}; dead when above {@code dead_feature_window}) and how many tokens it
 * fired on since the last reset ({@code act_freq_scores}, reset every {@code feature_sampling_window} steps,
 * over {@code n_frac_active_samples} tokens).
 */
final class FeatureFiring {
    private final int deadFeatureWindow;
    private final int featureSamplingWindow;
    final float[] stepsSinceFired;
    final float[] firedTokens;
    long sampledTokens;

    FeatureFiring(int dSae, int deadFeatureWindow, int featureSamplingWindow) {
        this.deadFeatureWindow = deadFeatureWindow;
        this.featureSamplingWindow = featureSamplingWindow;
        this.stepsSinceFired = new float[dSae];
        this.firedTokens = new float[dSae];
    }

    /** Called before step {@code step} (0-based): resets the frequencies at each sampling window's end, as SAELens. */
    void beforeStep(long step) {
        if ((step + 1) % featureSamplingWindow == 0) {
            Arrays.fill(firedTokens, 0f);
            sampledTokens = 0;
        }
    }

    /** Which features are dead now [d_sae]. */
    boolean[] dead() {
        boolean[] dead = new boolean[stepsSinceFired.length];
        for (int i = 0; i < dead.length; i++) {
            dead[i] = stepsSinceFired[i] > deadFeatureWindow;
        }
        return dead;
    }

    /** How many features are dead now. */
    int deadCount() {
        int n = 0;
        for (boolean d : dead()) {
            n += d ? 1 : 0;
        }
        return n;
    }

    /** Records one step over {@code tokens} tokens on which feature i fired {@code fired[i]} times. */
    void record(float[] fired, int tokens) {
        for (int i = 0; i < fired.length; i++) {
            stepsSinceFired[i] = fired[i] > 0 ? 0 : stepsSinceFired[i] + 1;
            firedTokens[i] += fired[i];
        }
        sampledTokens += tokens;
    }

    /** SAELens's {@code sparsity.safetensors}: log10(firing frequency + 1e-10) per feature [d_sae]. */
    float[] logSparsity() {
        float[] out = new float[firedTokens.length];
        for (int i = 0; i < out.length; i++) {
            double frequency = sampledTokens == 0 ? 0 : (double) firedTokens[i] / sampledTokens;
            out[i] = (float) Math.log10(frequency + 1e-10);
        }
        return out;
    }
}
