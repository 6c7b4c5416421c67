package dev.loupe.sae.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sae.Sae;
import dev.loupe.sae.format.ActivationNormalization;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.train.TrainingRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The saved SAE computes what the trained one did: with the {@code expected_average_only_in} scale s folded in
 * (and topk's decoder norms, jumprelu's exp(log_threshold)), Sae.forward(x) = training forward(s·x) / s and
 * Sae.encode(x) = the training activations (topk: divided by s, which its folded decoder norms carry), to 1e-5.
 */
class InferenceFoldingTest {

    @ParameterizedTest
    @EnumSource(value = SaeArchitecture.class, names = {"STANDARD", "TOPK", "JUMPRELU"})
    void theSavedSaeComputesWhatTheTrainedOneDid(SaeArchitecture architecture) {
        try (NDManager manager = NDManager.newBaseManager()) {
            SaeTrainingConfig cfg = SaeTrainingConfig.builder(architecture, "blocks.0.hook_resid_post", 8, 24).k(5)
                    .normalizeActivations(ActivationNormalization.EXPECTED_AVERAGE_ONLY_IN).decoderInitNorm(0.7)
                    .trainingTokens(64).trainBatchSizeTokens(64).build();
            TrainingSae trained = TrainingSae.initialize(cfg, TrainingRandom.seeded(5), manager);
            // Away from the initial symmetry: biases and per-row decoder norms of their own.
            trained.get("b_enc").set(TrainingRandom.seeded(6).normal(24, 0.2));
            trained.get("b_dec").set(TrainingRandom.seeded(7).normal(8, 0.5));
            trained.get("W_dec").muli(manager.create(TrainingRandom.seeded(8).normal(24, 0.3)).abs().add(0.5f)
                    .expandDims(1));
            double s = 1.7;
            NDArray x = manager.create(TrainingRandom.seeded(9).normal(64 * 8, 2.0), new Shape(64, 8));
            TrainingObjective.Forward reference = TrainingObjective.forward(trained, x.mul((float) s));
            try (Sae sae = Sae.of(TrainedSae.saeConfig(cfg), trained.inferenceTensors(s, manager), manager)) {
                NDArray expectedOut = reference.out().div((float) s);
                assertThat(maxAbs(sae.forward(x).sub(expectedOut))).isLessThan(1e-5 * Math.max(1, maxAbs(expectedOut)));
                NDArray acts = reference.acts();
                if (architecture == SaeArchitecture.TOPK) {
                    acts = acts.div((float) s); // the folded decoder norms carry the 1/s of W_dec/s
                }
                assertThat(maxAbs(sae.encode(x).sub(acts))).isLessThan(1e-5 * Math.max(1, maxAbs(acts)));
                assertThat(maxAbs(acts)).isPositive();
            }
        }
    }

    private static double maxAbs(NDArray a) {
        return a.abs().max().getFloat();
    }
}
