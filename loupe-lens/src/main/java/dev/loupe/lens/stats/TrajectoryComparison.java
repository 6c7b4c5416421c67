package dev.loupe.lens.stats;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import java.util.Arrays;
import java.util.List;
import java.util.function.BinaryOperator;

/**
 * Divergences between two trajectories of the same inputs (say a tuned and a logit lens), row by
 * row and position by position, in nats. The output row compares the model with itself (0).
 *
 * <p>Each method computes what its name says. The tuned-lens library's {@code js_divergence} is
 * {@link #halfSymmetrisedKl} and its {@code total_variation} is {@link #maxAbsoluteDifference};
 * {@link #jensenShannon} and {@link #totalVariationDistance} are the textbook quantities.
 */
public final class TrajectoryComparison {
    private static final double LN2 = Math.log(2);

    private TrajectoryComparison() {}

    /** {@code KL(p_a ‖ p_b) = Σ_v p_a (log p_a − log p_b)}. */
    public static TrajectoryStatistic klDivergence(PredictionTrajectories a, PredictionTrajectories b) {
        return compare("kl_divergence", a, b, TrajectoryComparison::kl);
    }

    /** {@code ½ KL(p_a ‖ p_b) + ½ KL(p_b ‖ p_a)}: half Jeffreys' divergence, what the library calls {@code js_divergence}. */
    public static TrajectoryStatistic halfSymmetrisedKl(PredictionTrajectories a, PredictionTrajectories b) {
        return compare("half_symmetrised_kl", a, b, (x, y) -> kl(x, y).add(kl(y, x)).mul(0.5f));
    }

    /** {@code max_v |p_a − p_b|}: the L∞ distance, what the library calls {@code total_variation}. */
    public static TrajectoryStatistic maxAbsoluteDifference(PredictionTrajectories a, PredictionTrajectories b) {
        return compare("max_absolute_difference", a, b, (x, y) -> x.exp().sub(y.exp()).abs().max(new int[] {-1}));
    }

    /**
     * The Jensen–Shannon divergence {@code ½ KL(p_a ‖ m) + ½ KL(p_b ‖ m)}, {@code m = ½ (p_a + p_b)}, with
     * {@code log m} taken as a log-sum-exp so that it stays finite where one side is tiny.
     */
    public static TrajectoryStatistic jensenShannon(PredictionTrajectories a, PredictionTrajectories b) {
        return compare("jensen_shannon", a, b, TrajectoryComparison::jensenShannon);
    }

    /** The total variation distance {@code ½ Σ_v |p_a − p_b|}. */
    public static TrajectoryStatistic totalVariationDistance(PredictionTrajectories a, PredictionTrajectories b) {
        return compare("total_variation_distance", a, b,
                (x, y) -> x.exp().sub(y.exp()).abs().sum(new int[] {-1}).mul(0.5f));
    }

    /** The five above, in that order. */
    public static List<TrajectoryStatistic> all(PredictionTrajectories a, PredictionTrajectories b) {
        return List.of(klDivergence(a, b), halfSymmetrisedKl(a, b), maxAbsoluteDifference(a, b), jensenShannon(a, b),
                totalVariationDistance(a, b));
    }

    /** KL(p ‖ q) of log-probabilities [..., vocab] → [...]. */
    static NDArray kl(NDArray logP, NDArray logQ) {
        return logP.exp().mul(logP.sub(logQ)).sum(new int[] {-1});
    }

    /** JSD of log-probabilities [..., vocab] → [...]. */
    static NDArray jensenShannon(NDArray logP, NDArray logQ) {
        // log m = logsumexp(log p, log q) − ln 2, as max + log(1 + exp(−|log p − log q|)).
        NDArray logM = logP.maximum(logQ).add(logP.sub(logQ).abs().neg().exp().add(1).log()).sub(LN2);
        return kl(logP, logM).add(kl(logQ, logM)).mul(0.5f);
    }

    private static TrajectoryStatistic compare(String name, PredictionTrajectories a, PredictionTrajectories b,
            BinaryOperator<NDArray> divergence) {
        if (a.rows() != b.rows() || !Arrays.deepEquals(a.inputs().inputIds(), b.inputs().inputIds())) {
            throw new LoupeException("Trajectories compared must read the same input ids with as many layers: "
                    + a.rows() + " and " + b.rows() + " rows");
        }
        TrajectoryInputs inputs = a.inputs();
        float[][][] values = new float[inputs.batchSize()][a.rows()][inputs.length()];
        for (int row = 0; row < a.rows(); row++) {
            try (NDScope scope = new NDScope()) {
                float[] flat = divergence.apply(a.logProbs(row), b.logProbs(row)).toType(DataType.FLOAT32, false)
                        .toFloatArray();
                for (int batch = 0; batch < inputs.batchSize(); batch++) {
                    System.arraycopy(flat, batch * inputs.length(), values[batch][row], 0, inputs.length());
                }
            }
        }
        return new TrajectoryStatistic(name, TrajectoryStatistic.layerLabels(a.rows() - 1), values,
                inputs.attentionMask());
    }
}
