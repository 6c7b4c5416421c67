package dev.loupe.sae.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.format.ActivationNormalization;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.stop.StopSignal;
import dev.loupe.stop.StoppedException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A run stopped mid-way (by its stop signal, which saves a checkpoint at the step boundary) and resumed from
 * the checkpoint ends bitwise equal to an uninterrupted run: every weight and every loss-curve entry. The
 * windows are short so that topk's features die before the break and the firing statistics are reset after it; jumprelu runs
 * with {@code expected_average_only_in}, so the scale estimated before the break is carried too.
 */
class SaeTrainerResumeTest {
    private static final int STEPS = 36;
    private static final int STOP_AFTER = 17;
    private static SaeFixtures fixtures;
    private static HookedTransformer model;
    private static NDArray tokens;

    @BeforeAll
    static void load() {
        fixtures = new SaeFixtures();
        model = fixtures.model("gpt2/standard_resid_pre_l0");
        tokens = TrainingFixture.tokens(fixtures, "tokens");
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    private static SaeTrainingConfig config(SaeArchitecture architecture) {
        SaeTrainingConfig.Builder b = SaeTrainingConfig.builder(architecture, TrainingFixture.HOOK, 32, 128)
                .trainingTokens(STEPS * 128L).trainBatchSizeTokens(128).contextSize(32).storeBatchSizePrompts(4)
                .nBatchesInBuffer(4).lr(1e-2).deadFeatureWindow(3).featureSamplingWindow(7).k(4).seed(7);
        if (architecture == SaeArchitecture.JUMPRELU) {
            b.normalizeActivations(ActivationNormalization.EXPECTED_AVERAGE_ONLY_IN).nBatchesForNormEstimate(3)
                    .l0WarmUpSteps(10);
        }
        return b.build();
    }

    private static ModelActivations source(SaeTrainingConfig cfg) {
        return new ModelActivations(model, tokens, cfg.hookName(), cfg.dIn(), cfg.storeBatchSizePrompts(),
                fixtures.manager());
    }

    @ParameterizedTest
    @EnumSource(value = SaeArchitecture.class, names = {"STANDARD", "TOPK", "JUMPRELU"})
    void aResumedRunEqualsAnUninterruptedOneBitwise(SaeArchitecture architecture, @TempDir Path dir) {
        SaeTrainingConfig cfg = config(architecture);
        Path checkpoints = dir.resolve("ck");
        try (TrainedSae whole = SaeTrainer.train(cfg, source(cfg), SaeTrainer.Checkpoints.NONE, null, fixtures.manager())) {
            try (TrainedSae again = SaeTrainer.train(cfg, source(cfg), SaeTrainer.Checkpoints.NONE, null,
                    fixtures.manager())) {
                assertThat(again.curve()).as("twice").isEqualTo(whole.curve());
            }
            StopSignal signal = new StopSignal();
            try (StopSignal.Binding bound = signal.bind()) {
                assertThatThrownBy(() -> SaeTrainer.train(cfg, source(cfg),
                        new SaeTrainer.Checkpoints(checkpoints, 1000, false),
                        (done, loss, lr) -> {
                            if (done == STOP_AFTER) {
                                signal.request("the test");
                            }
                        }, fixtures.manager()))
                        .isInstanceOf(StoppedException.class)
                        .hasMessageContaining("after step " + STOP_AFTER + " of " + STEPS);
            }
            try (TrainedSae resumed = SaeTrainer.train(cfg, source(cfg),
                    new SaeTrainer.Checkpoints(checkpoints, 1000, true), null, fixtures.manager())) {
                assertThat(resumed.firstStep()).isEqualTo(STOP_AFTER);
                assertThat(resumed.curve()).isEqualTo(whole.curve());
                if (architecture == SaeArchitecture.TOPK) { // the dead mask feeds AuxK: it must cross the break
                    assertThat(whole.curve().get(STOP_AFTER).deadFeatures()).as("dead features at the break").isPositive();
                }
                assertThat(resumed.scalingFactor()).isEqualTo(whole.scalingFactor());
                assertThat(resumed.logSparsity()).isEqualTo(whole.logSparsity());
                whole.sae().tensors().forEach((name, t) ->
                        assertThat(resumed.sae().tensor(name).toFloatArray()).as(name).isEqualTo(t.toFloatArray()));
            }
        }
    }
}
