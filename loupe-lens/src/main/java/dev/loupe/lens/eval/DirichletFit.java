package dev.loupe.lens.eval;

import dev.loupe.LoupeException;

/**
 * The maximum-likelihood Dirichlet for predicted distributions, given only the mean log-probability
 * of each token ({@code sufficient_stats}): it minimises the tuned-lens library's objective
 * {@code f(α) = −(log Γ(Σα) − Σ log Γ(α_k) + Σ (α_k − 1) s_k)}, the mean negative log-likelihood.
 *
 * <p>The library runs torch's L-BFGS from α = 1 for at most 100 iterations; the objective is convex
 * with one minimum, so this fit uses Minka's Newton iteration instead (the Hessian is a diagonal
 * plus a rank-one term, so each step costs O(V)), halving a step that leaves α > 0 or fails to
 * lower f, until f stops changing. It reaches the same minimum or a lower objective.
 *
 * @param alpha the concentration [V]
 * @param negativeLogLikelihood {@code f(alpha)}
 * @param iterations Newton steps taken
 */
public record DirichletFit(double[] alpha, double negativeLogLikelihood, int iterations) {
    private static final int MAX_ITERATIONS = 500;
    private static final double RELATIVE_TOLERANCE = 1e-13;

    /** Fits α to mean log-probabilities {@code sufficientStats} [V], starting from α = 1 as the library. */
    public static DirichletFit fit(double[] sufficientStats) {
        int v = sufficientStats.length;
        if (v < 2) {
            throw new LoupeException("A Dirichlet needs at least two categories, got " + v);
        }
        for (double s : sufficientStats) {
            if (!Double.isFinite(s) || s >= 0) {
                throw new LoupeException("Mean log-probabilities must be finite and negative to fit a Dirichlet, got " + s
                        + " (a token that is never or always predicted)");
            }
        }
        double[] alpha = new double[v];
        java.util.Arrays.fill(alpha, 1);
        double f = objective(alpha, sufficientStats);
        double[] step = new double[v];
        double[] trial = new double[v];
        int iteration = 0;
        while (iteration < MAX_ITERATIONS) {
            iteration++;
            newtonStep(alpha, sufficientStats, step);
            double scale = 1;
            double next = Double.NaN;
            for (int halvings = 0; halvings < 60; halvings++, scale /= 2) {
                boolean positive = true;
                for (int k = 0; k < v && positive; k++) {
                    trial[k] = alpha[k] - scale * step[k];
                    positive = trial[k] > 0;
                }
                if (positive) {
                    next = objective(trial, sufficientStats);
                    if (next <= f) {
                        break;
                    }
                }
                next = Double.NaN;
            }
            if (Double.isNaN(next)) {
                break; // no step lowers f: at the minimum to double precision
            }
            double change = f - next;
            System.arraycopy(trial, 0, alpha, 0, v);
            f = next;
            if (change <= RELATIVE_TOLERANCE * Math.abs(f)) {
                break;
            }
        }
        return new DirichletFit(alpha, f, iteration);
    }

    /** The library's objective {@code −(log Γ(Σα) − Σ log Γ(α_k) + Σ (α_k − 1) s_k)}. */
    public static double objective(double[] alpha, double[] sufficientStats) {
        double sum = 0;
        double value = 0;
        for (int k = 0; k < alpha.length; k++) {
            sum += alpha[k];
            value += SpecialFunctions.logGamma(alpha[k]) - (alpha[k] - 1) * sufficientStats[k];
        }
        return value - SpecialFunctions.logGamma(sum);
    }

    /**
     * The Newton step {@code H⁻¹ g} of f: gradient {@code g_k = ψ(α_k) − ψ(Σα) − s_k}, Hessian
     * {@code H = diag(ψ'(α_k)) − ψ'(Σα) 11ᵀ}, inverted with the Sherman–Morrison formula.
     */
    private static void newtonStep(double[] alpha, double[] s, double[] step) {
        double sum = 0;
        for (double a : alpha) {
            sum += a;
        }
        double psiSum = SpecialFunctions.digamma(sum);
        double z = SpecialFunctions.trigamma(sum);
        double gOverD = 0;
        double oneOverD = 0;
        for (int k = 0; k < alpha.length; k++) {
            double d = SpecialFunctions.trigamma(alpha[k]);
            double g = SpecialFunctions.digamma(alpha[k]) - psiSum - s[k];
            step[k] = g / d;
            gOverD += g / d;
            oneOverD += 1 / d;
        }
        double correction = z * gOverD / (1 - z * oneOverD);
        for (int k = 0; k < alpha.length; k++) {
            step[k] += correction / SpecialFunctions.trigamma(alpha[k]);
        }
    }
}
