package dev.loupe.lens.eval;

/**
 * log Γ, digamma and trigamma for positive arguments, in double precision: the argument is raised
 * above 10 by the recurrences {@code Γ(x+1) = xΓ(x)}, then the asymptotic (Stirling) series is used;
 * relative error below 1e-13.
 */
final class SpecialFunctions {
    private static final double SHIFT = 10;
    private static final double HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

    private SpecialFunctions() {}

    /** {@code log Γ(x)}, x > 0. */
    static double logGamma(double x) {
        double shift = 0;
        while (x < SHIFT) {
            shift -= Math.log(x);
            x += 1;
        }
        double inv = 1 / x;
        double inv2 = inv * inv;
        double series = inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 * (1.0 / 1680 - inv2 / 1188))));
        return shift + (x - 0.5) * Math.log(x) - x + HALF_LOG_TWO_PI + series;
    }

    /** {@code ψ(x) = d/dx log Γ(x)}, x > 0. */
    static double digamma(double x) {
        double shift = 0;
        while (x < SHIFT) {
            shift -= 1 / x;
            x += 1;
        }
        double inv2 = 1 / (x * x);
        double series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132))));
        return shift + Math.log(x) - 0.5 / x - series;
    }

    /** {@code ψ'(x)}, x > 0. */
    static double trigamma(double x) {
        double shift = 0;
        while (x < SHIFT) {
            shift += 1 / (x * x);
            x += 1;
        }
        double inv = 1 / x;
        double inv2 = inv * inv;
        double series = inv + inv2 / 2
                + inv * inv2 * (1.0 / 6 - inv2 * (1.0 / 30 - inv2 * (1.0 / 42 - inv2 * (1.0 / 30 - inv2 * 5 / 66))));
        return shift + series;
    }
}
