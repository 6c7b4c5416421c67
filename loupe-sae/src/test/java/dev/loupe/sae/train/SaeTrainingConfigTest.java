package dev.loupe.sae.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import dev.loupe.sae.format.ActivationNormalization;
import dev.loupe.sae.format.SaeArchitecture;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * SAELens 6.18's schedules, as torch computes them: {@code get_lr_scheduler("constant", warm_up_steps=W,
 * decay_steps=D)} is LinearLR(1/W → 1 over W − 1 steps), constant, then LinearLR(1 → 0 over D steps) from step
 * T − D; the CoefficientScheduler warms the l1 / l0 coefficient up as value·step/W (0 at step 0); and the
 * defaults are SAELens's (summary.json → saelens_defaults).
 */
class SaeTrainingConfigTest {
    private static final Offset<Double> EXACT = Offset.offset(1e-15);

    private static SaeTrainingConfig.Builder standard() {
        return SaeTrainingConfig.builder(SaeArchitecture.STANDARD, "blocks.0.hook_resid_post", 32, 128)
                .trainingTokens(20 * 256L).trainBatchSizeTokens(256);
    }

    @Test
    void learningRateWarmsUpStaysAndDecaysAsTorchsLinearLr() {
        SaeTrainingConfig cfg = standard().lr(1e-3).lrWarmUpSteps(4).lrDecaySteps(5).build();
        assertThat(cfg.totalSteps()).isEqualTo(20);
        double[] expected = {0.25e-3, 0.5e-3, 0.75e-3, 1e-3, 1e-3};
        for (int step = 0; step < expected.length; step++) {
            assertThat(cfg.lrAt(step)).as("step %d", step).isCloseTo(expected[step], EXACT);
        }
        assertThat(cfg.lrAt(14)).isCloseTo(1e-3, EXACT);
        assertThat(cfg.lrAt(15)).isCloseTo(1e-3, EXACT); // step T − D: the decay's factor 1
        assertThat(cfg.lrAt(19)).isCloseTo(0.2e-3, EXACT); // 1 − 4/5
        assertThat(standard().lr(1e-3).build().lrAt(19)).isEqualTo(1e-3);
    }

    @Test
    void theSparsityCoefficientWarmsUpFromZero() {
        SaeTrainingConfig cfg = standard().l1Coefficient(2).l1WarmUpSteps(100).build();
        assertThat(cfg.sparsityCoefficientAt(0)).isZero();
        assertThat(cfg.sparsityCoefficientAt(50)).isCloseTo(1.0, EXACT);
        assertThat(cfg.sparsityCoefficientAt(100)).isEqualTo(2.0);
        assertThat(standard().l1Coefficient(2).build().sparsityCoefficientAt(0)).isEqualTo(2.0);
    }

    @Test
    void defaultsAreSaeLenss() {
        SaeTrainingConfig cfg = SaeTrainingConfig.builder(SaeArchitecture.TOPK, "h", 32, 256).build();
        assertThat(cfg.lr()).isEqualTo(3e-4);
        assertThat(cfg.adamBeta1()).isEqualTo(0.9);
        assertThat(cfg.adamBeta2()).isEqualTo(0.999);
        assertThat(cfg.trainBatchSizeTokens()).isEqualTo(4096);
        assertThat(cfg.contextSize()).isEqualTo(128);
        assertThat(cfg.storeBatchSizePrompts()).isEqualTo(32);
        assertThat(cfg.nBatchesInBuffer()).isEqualTo(20);
        assertThat(cfg.trainingTokens()).isEqualTo(2_000_000);
        assertThat(cfg.k()).isEqualTo(100);
        assertThat(cfg.rescaleActsByDecoderNorm()).isTrue();
        assertThat(cfg.decoderInitNorm()).isEqualTo(0.1);
        assertThat(cfg.deadFeatureWindow()).isEqualTo(1000);
        assertThat(cfg.featureSamplingWindow()).isEqualTo(2000);
        assertThat(cfg.jumpreluBandwidth()).isEqualTo(0.05);
        assertThat(cfg.jumpreluInitThreshold()).isEqualTo(0.01);
        assertThat(cfg.normalizeActivations()).isEqualTo(ActivationNormalization.NONE);
    }

    @Test
    void badSettingsAreRefusedWithTheFix() {
        assertThatThrownBy(() -> SaeTrainingConfig.builder(SaeArchitecture.GATED, "h", 32, 128).build())
                .isInstanceOf(LoupeException.class).hasMessageContaining("not gated");
        assertThatThrownBy(() -> SaeTrainingConfig.builder(SaeArchitecture.TOPK, "h", 32, 64).build())
                .hasMessageContaining("topk needs 1 <= k <= d_sae (64), got k = 100");
        assertThatThrownBy(() -> standard().normalizeActivations(ActivationNormalization.LAYER_NORM).build())
                .hasMessageContaining("none or expected_average_only_in, not layer_norm");
        assertThatThrownBy(() -> standard().trainingTokens(100).build())
                .hasMessageContaining("less than one batch");
        assertThatThrownBy(() -> standard().lrWarmUpSteps(15).lrDecaySteps(10).build())
                .hasMessageContaining("at most the 20 steps");
    }
}
