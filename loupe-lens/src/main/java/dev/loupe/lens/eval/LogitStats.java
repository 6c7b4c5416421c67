package dev.loupe.lens.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;

/**
 * Running statistics of the distributions one layer predicts, as the tuned-lens library's
 * {@code LogitStats}: over every token seen, the mean predicted distribution ({@code marginal_probs})
 * and the mean log-probability of each token ({@code sufficient_stats}), from which
 * {@link #fitDirichlet()} fits the Dirichlet by maximum likelihood. Kept in double precision.
 */
public final class LogitStats {
    private final double[] marginalProbs;
    private final double[] sufficientStats;
    private long n;

    /** An empty recorder for a vocabulary of {@code vocab} tokens. */
    public LogitStats(int vocab) {
        marginalProbs = new double[vocab];
        sufficientStats = new double[vocab];
    }

    /**
     * Adds a batch of normalised log-probabilities [..., V] (every leading axis is a token), updating
     * each mean as {@code m += (batch mean − m) · N_batch / n}.
     */
    public void update(NDArray logProbs) {
        long vocab = logProbs.getShape().get(logProbs.getShape().dimension() - 1);
        if (vocab != marginalProbs.length) {
            throw new LoupeException("These statistics are for a vocabulary of " + marginalProbs.length
                    + " tokens, got log-probabilities " + logProbs.getShape());
        }
        float[] lp = logProbs.toType(DataType.FLOAT32, false).toFloatArray();
        int tokens = lp.length / marginalProbs.length;
        if (tokens == 0) {
            return;
        }
        double[] probSum = new double[marginalProbs.length];
        double[] logSum = new double[marginalProbs.length];
        for (int t = 0; t < tokens; t++) {
            int base = t * marginalProbs.length;
            for (int v = 0; v < marginalProbs.length; v++) {
                probSum[v] += Math.exp(lp[base + v]);
                logSum[v] += lp[base + v];
            }
        }
        n += tokens;
        double weight = (double) tokens / n;
        for (int v = 0; v < marginalProbs.length; v++) {
            marginalProbs[v] += (probSum[v] / tokens - marginalProbs[v]) * weight;
            sufficientStats[v] += (logSum[v] / tokens - sufficientStats[v]) * weight;
        }
    }

    /** The mean predicted distribution [V]. */
    public double[] marginalProbs() {
        return marginalProbs.clone();
    }

    /** The mean log-probability of each token [V]. */
    public double[] sufficientStats() {
        return sufficientStats.clone();
    }

    /** Tokens seen. */
    public long n() {
        return n;
    }

    /** The maximum-likelihood Dirichlet of the distributions seen. */
    public DirichletFit fitDirichlet() {
        if (n == 0) {
            throw new LoupeException("No predictions were recorded; update the statistics before fitting");
        }
        return DirichletFit.fit(sufficientStats);
    }
}
