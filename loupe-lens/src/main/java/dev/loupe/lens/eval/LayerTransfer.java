package dev.loupe.lens.eval;

import java.io.Serializable;

/**
 * How well each translator reads every other layer's residual: translator {@code i} applied to
 * layer {@code j}'s residual, indexed {@code [i][j]} (the library's {@code layer_transfer}, keyed
 * translator first, residual second).
 *
 * @param ce [translator][layer] cross-entropy against the next token
 * @param kl [translator][layer] {@code KL(own translator's prediction ‖ translator i's)}, averaged over positions
 */
public record LayerTransfer(double[][] ce, double[][] kl) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Zeros for {@code layers} translators and layers. */
    static LayerTransfer zeros(int layers) {
        return new LayerTransfer(new double[layers][layers], new double[layers][layers]);
    }

    /** {@code a · this + b · other}, element by element ({@code other} may be null when b is 0). */
    LayerTransfer combine(double a, LayerTransfer other, double b) {
        int layers = ce.length;
        LayerTransfer out = zeros(layers);
        for (int i = 0; i < layers; i++) {
            for (int j = 0; j < layers; j++) {
                out.ce[i][j] = a * ce[i][j] + (other == null ? 0 : b * other.ce[i][j]);
                out.kl[i][j] = a * kl[i][j] + (other == null ? 0 : b * other.kl[i][j]);
            }
        }
        return out;
    }
}
