package dev.loupe.lens.causal;

import dev.loupe.LoupeException;

/**
 * Settings of {@link CausalBasisSearch}, the tuned-lens library's {@code extract_causal_bases} arguments.
 *
 * @param k how many directions per layer
 * @param maxEvaluations the most energy evaluations per direction (the library's {@code max_iter}, 100)
 * @param mode how a direction is removed while its energy is measured (the library's default: mean)
 * @param tolerance stop once the energy changes by less than this share of itself between two steps (1e-4)
 */
public record CausalBasisOptions(int k, int maxEvaluations, AblationMode mode, double tolerance) {
    /** The library's defaults: 100 evaluations, mean ablation, relative tolerance 1e-4. */
    public static final int DEFAULT_MAX_EVALUATIONS = 100;
    public static final double DEFAULT_TOLERANCE = 1e-4;

    public CausalBasisOptions {
        if (k < 1) {
            throw new LoupeException("A causal basis needs k >= 1 directions, got " + k);
        }
        if (maxEvaluations < 1) {
            throw new LoupeException("maxEvaluations must be at least 1, got " + maxEvaluations);
        }
        if (mode == null) {
            throw new LoupeException("Give an ablation mode: zero or mean");
        }
        if (!(tolerance >= 0)) {
            throw new LoupeException("The tolerance must be a number >= 0, got " + tolerance);
        }
    }

    /** {@code k} directions per layer with the library's other defaults. */
    public static CausalBasisOptions of(int k) {
        return new CausalBasisOptions(k, DEFAULT_MAX_EVALUATIONS, AblationMode.MEAN, DEFAULT_TOLERANCE);
    }

    /** These options with another ablation mode. */
    public CausalBasisOptions withMode(AblationMode newMode) {
        return new CausalBasisOptions(k, maxEvaluations, newMode, tolerance);
    }

    /** These options with another evaluation budget per direction. */
    public CausalBasisOptions withMaxEvaluations(int evaluations) {
        return new CausalBasisOptions(k, evaluations, mode, tolerance);
    }
}
