package dev.loupe.sae.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.train.TrainingRandom;
import java.util.List;
import java.util.Locale;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * JumpReLU training: the threshold gradients are the straight-through rectangle-kernel estimates (the L0
 * penalty's equals a finite difference of the kernel-smoothed L0 objective; the reconstruction's equals
 * −(θ/ε)·K((z − θ)/ε)·∂L/∂a, computed here by hand in double), and a short run lowers L0 and MSE.
 */
class JumpReluTrainingTest {
    private static final int D_IN = 8;
    private static final int D_SAE = 16;
    private static final int BATCH = 256;
    private static final double BANDWIDTH = 0.05;
    private static SaeFixtures fixtures;

    @BeforeAll
    static void load() {
        fixtures = new SaeFixtures();
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    /** A jumprelu SAE with thresholds spread over the pre-activations, and a batch x [BATCH, D_IN]. */
    private static TrainingSae sae(NDManager manager) {
        SaeTrainingConfig cfg = SaeTrainingConfig.builder(SaeArchitecture.JUMPRELU, "h", D_IN, D_SAE)
                .decoderInitNorm(1.0).jumpreluBandwidth(BANDWIDTH).trainingTokens(BATCH).trainBatchSizeTokens(BATCH)
                .build();
        TrainingSae sae = TrainingSae.initialize(cfg, TrainingRandom.seeded(11), manager);
        float[] logThreshold = new float[D_SAE];
        for (int i = 0; i < D_SAE; i++) {
            logThreshold[i] = (float) Math.log(0.05 + 0.1 * i);
        }
        sae.get("log_threshold").set(logThreshold);
        sae.get("b_dec").set(TrainingRandom.seeded(12).normal(D_IN, 0.3));
        return sae;
    }

    private static float[] batch() {
        return TrainingRandom.seeded(13).normal(BATCH * D_IN, 1.0);
    }

    /** Pre-activations z [BATCH][D_SAE] = (x − b_dec)·W_enc + b_enc, in double. */
    private static double[][] pre(TrainingSae sae, float[] x) {
        float[] wEnc = sae.get("W_enc").toFloatArray();
        float[] bEnc = sae.get("b_enc").toFloatArray();
        float[] bDec = sae.get("b_dec").toFloatArray();
        double[][] z = new double[BATCH][D_SAE];
        for (int t = 0; t < BATCH; t++) {
            for (int i = 0; i < D_SAE; i++) {
                double s = bEnc[i];
                for (int d = 0; d < D_IN; d++) {
                    s += (x[t * D_IN + d] - bDec[d]) * (double) wEnc[d * D_SAE + i];
                }
                z[t][i] = s;
            }
        }
        return z;
    }

    /** The kernel-smoothed L0 objective coef·mean_t Σ_i clamp((z − θ)/ε + ½, 0, 1) with θ_i = exp(logThreshold_i). */
    private static double smoothedL0(double[][] z, double[] logThreshold, double coefficient) {
        double sum = 0;
        for (double[] row : z) {
            for (int i = 0; i < D_SAE; i++) {
                double u = (row[i] - Math.exp(logThreshold[i])) / BANDWIDTH + 0.5;
                sum += Math.max(0, Math.min(1, u));
            }
        }
        return coefficient * sum / BATCH;
    }

    @Test
    void theL0ThresholdGradientIsTheFiniteDifferenceOfTheSmoothedObjective() {
        try (NDManager manager = fixtures.manager().newSubManager()) {
            TrainingSae sae = sae(manager);
            sae.get("W_dec").muli(0f); // no reconstruction gradient reaches the thresholds: only the L0 term's
            float[] x = batch();
            double coefficient = 3.0;
            TrainingObjective.computeGradients(sae, manager.create(x, new Shape(BATCH, D_IN)), coefficient, null);
            float[] gradient = sae.get("log_threshold").getGradient().toFloatArray();
            double[][] z = pre(sae, x);
            double[] logThreshold = toDouble(sae.get("log_threshold").toFloatArray());
            double h = 1e-6;
            double largest = 0;
            int inWindow = 0;
            for (int i = 0; i < D_SAE; i++) {
                double saved = logThreshold[i];
                logThreshold[i] = saved + h;
                double up = smoothedL0(z, logThreshold, coefficient);
                logThreshold[i] = saved - h;
                double down = smoothedL0(z, logThreshold, coefficient);
                logThreshold[i] = saved;
                double finiteDifference = (up - down) / (2 * h);
                inWindow += finiteDifference != 0 ? 1 : 0;
                largest = Math.max(largest, Math.abs(gradient[i] - finiteDifference));
                assertThat((double) gradient[i]).as("feature %d", i)
                        .isCloseTo(finiteDifference, Offset.offset(1e-4 * Math.max(1,
                                Math.abs(finiteDifference))));
            }
            System.out.printf(Locale.ROOT, "jumprelu L0 threshold gradient vs finite difference: %d of %d features"
                    + " in the kernel, largest difference %.2e%n", inWindow, D_SAE, largest);
            assertThat(inWindow).as("features with pre-activations inside the kernel").isGreaterThan(D_SAE / 4);
        }
    }

    @Test
    void theReconstructionThresholdGradientIsTheRectangleKernelEstimate() {
        try (NDManager manager = fixtures.manager().newSubManager()) {
            TrainingSae sae = sae(manager);
            float[] x = batch();
            TrainingObjective.computeGradients(sae, manager.create(x, new Shape(BATCH, D_IN)), 0.0, null);
            float[] gradient = sae.get("log_threshold").getGradient().toFloatArray();
            double[][] z = pre(sae, x);
            float[] wDec = sae.get("W_dec").toFloatArray();
            float[] bDec = sae.get("b_dec").toFloatArray();
            double[] theta = toDouble(sae.get("log_threshold").toFloatArray());
            for (int i = 0; i < D_SAE; i++) {
                theta[i] = Math.exp(theta[i]);
            }
            double[] expected = new double[D_SAE];
            for (int t = 0; t < BATCH; t++) {
                double[] residual = new double[D_IN]; // x̂ − x
                for (int d = 0; d < D_IN; d++) {
                    double out = bDec[d];
                    for (int i = 0; i < D_SAE; i++) {
                        out += (z[t][i] > theta[i] ? z[t][i] : 0) * wDec[i * D_IN + d];
                    }
                    residual[d] = out - x[t * D_IN + d];
                }
                for (int i = 0; i < D_SAE; i++) {
                    if (Math.abs((z[t][i] - theta[i]) / BANDWIDTH) < 0.5) {
                        double dLossDAct = 0;
                        for (int d = 0; d < D_IN; d++) {
                            dLossDAct += 2.0 / BATCH * residual[d] * wDec[i * D_IN + d];
                        }
                        expected[i] += -(theta[i] / BANDWIDTH) * dLossDAct * theta[i]; // · dθ/dlogθ = θ
                    }
                }
            }
            int nonZero = 0;
            for (int i = 0; i < D_SAE; i++) {
                nonZero += expected[i] != 0 ? 1 : 0;
                assertThat((double) gradient[i]).as("feature %d", i).isCloseTo(expected[i],
                        Offset.offset(1e-4 * Math.max(1, Math.abs(expected[i]))));
            }
            assertThat(nonZero).isGreaterThan(D_SAE / 4);
        }
    }

    /** Thresholds start at 0.1 and move fast (lr 3e-2), so that 150 steps are enough to see L0 fall. */
    @Test
    void aShortRunLowersL0AndMse() {
        HookedTransformer model = fixtures.model("gpt2/standard_resid_pre_l0");
        NDArray tokens = TrainingFixture.tokens(fixtures, "tokens");
        SaeTrainingConfig cfg = SaeTrainingConfig.builder(SaeArchitecture.JUMPRELU, TrainingFixture.HOOK, 32, 128)
                .trainingTokens(150 * 256L).trainBatchSizeTokens(256).contextSize(32).storeBatchSizePrompts(16)
                .nBatchesInBuffer(8).lr(3e-2).l0Coefficient(5).jumpreluInitThreshold(0.1).build();
        try (TrainedSae trained = SaeTrainer.train(cfg, new ModelActivations(model, tokens, cfg.hookName(), 32, 16,
                fixtures.manager()), SaeTrainer.Checkpoints.NONE, null, fixtures.manager())) {
            List<TrainingStepLog> curve = trained.curve();
            TrainingStepLog first = curve.get(0);
            double l0 = curve.subList(curve.size() - 10, curve.size()).stream().mapToDouble(TrainingStepLog::l0)
                    .average().orElseThrow();
            double mse = curve.subList(curve.size() - 10, curve.size()).stream().mapToDouble(TrainingStepLog::mseLoss)
                    .average().orElseThrow();
            System.out.printf(Locale.ROOT, "jumprelu 150 steps: L0 %.1f -> %.1f, MSE %.1f -> %.1f%n", first.l0(), l0,
                    first.mseLoss(), mse);
            assertThat(l0).isLessThan(0.5 * first.l0());
            assertThat(mse).isLessThan(0.5 * first.mseLoss());
        }
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
