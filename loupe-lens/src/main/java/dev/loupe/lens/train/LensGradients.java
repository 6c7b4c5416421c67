package dev.loupe.lens.train;

import java.io.Serializable;

/**
 * Gradient sums of some forward passes of a tuned-lens step, and their per-layer losses: what one machine of a
 * data-parallel step sends back. Serializable; {@link #plus} adds two machines'.
 *
 * @param sums one per trained parameter, flattened, in {@link TunedLensTrainer#trainedParameters} order
 * @param layerLosses each layer's loss summed over the passes [n_layers]
 */
public record LensGradients(float[][] sums, double[] layerLosses) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** These sums plus {@code other}'s. */
    public LensGradients plus(LensGradients other) {
        float[][] out = new float[sums.length][];
        for (int i = 0; i < sums.length; i++) {
            out[i] = sums[i].clone();
            for (int k = 0; k < out[i].length; k++) {
                out[i][k] += other.sums[i][k];
            }
        }
        double[] losses = layerLosses.clone();
        for (int l = 0; l < losses.length; l++) {
            losses[l] += other.layerLosses[l];
        }
        return new LensGradients(out, losses);
    }
}
