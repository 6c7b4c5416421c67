package dev.loupe.lens.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LogitLens;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every tensor of the tuned-lens library's {@code trajectory.safetensors} (testdata/lens_extra), computed
 * by the library's {@code PredictionTrajectory} on the three rows of {@code inputs.safetensors}.
 */
class TrajectoryStatsReportTest {
    /** The README's tolerance: {@code 1e-4 × max(1, max |reference|)} per tensor. */
    static final double RELATIVE_ATOL = 1e-4;
    static final Path EXTRA = Fixtures.ROOT.resolve("lens_extra");

    static HookedTransformer model;
    static TunedLens tuned;
    static NDManager manager;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        tuned = TunedLens.load(Fixtures.ROOT.resolve("lens"), model);
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
        tuned.close();
        model.close();
    }

    static Map<String, Lens> lenses() {
        Map<String, Lens> lenses = new LinkedHashMap<>();
        lenses.put("logit", LogitLens.of(model));
        lenses.put("tuned", tuned);
        return lenses;
    }

    @Test
    void everyTensorOfTheLibrarysTrajectoryStatisticsIsReproduced() {
        TrajectoryInputs inputs = TrajectoryInputs.read(EXTRA.resolve("inputs.safetensors"));
        TrajectoryStatsReport report = TrajectoryStatsReport.compute(model, lenses(), inputs,
                new TrajectoryStatsOptions(true, PositionSlice.parse("2:9"), 2));
        Map<String, NDArray> ours = report.toTensors(manager);
        assertThat(report.statistics().get("tuned.log_prob_diff_delta").rowLabels()).containsExactly("0→1", "1→output");
        assertThat(report.statistics().get("tuned.stride.entropy").rowLabels()).containsExactly("0", "output");
        Map<String, NDArray> reference = Fixtures.readAll(EXTRA.resolve("trajectory.safetensors"), manager);
        assertThat(reference).hasSize(59);
        double worst = 0;
        for (Map.Entry<String, NDArray> entry : reference.entrySet()) {
            worst = Math.max(worst, assertClose(entry.getKey(), ours.get(entry.getKey()), entry.getValue()));
        }
        assertThat(worst).isLessThan(RELATIVE_ATOL);
        System.out.printf("trajectory.safetensors: largest difference / max(1, |reference|) %.2e%n", worst);
        // The true divergences sit beside the library's names: JSD ≤ half the symmetrised KL, TV ≥ the L∞ distance.
        float[] jsd = ours.get("tuned_vs_logit.jensen_shannon").toFloatArray();
        float[] halfJeffreys = ours.get("tuned_vs_logit.js_divergence").toFloatArray();
        float[] tv = ours.get("tuned_vs_logit.total_variation_distance").toFloatArray();
        float[] linf = ours.get("tuned_vs_logit.total_variation").toFloatArray();
        for (int i = 0; i < jsd.length; i++) {
            assertThat(jsd[i]).isLessThanOrEqualTo(halfJeffreys[i] + 1e-6f).isLessThanOrEqualTo((float) Math.log(2));
            assertThat(tv[i]).isGreaterThanOrEqualTo(linf[i] - 1e-6f).isLessThanOrEqualTo(1f + 1e-6f);
        }
        // Layer 1, position 5 of the batched JSD is the library's distance.js_divergence there averaged over the batch.
        float[] layerMajor = reference.get("distance.js_divergence").toFloatArray(); // [L, B, T]
        assertThat((double) jsd[12 + 5]).isCloseTo((layerMajor[36 + 5] + layerMajor[48 + 5] + layerMajor[60 + 5]) / 3.0,
                org.assertj.core.data.Offset.offset(1e-5));
    }

    /** Asserts {@code ours} equals {@code reference} within the tolerance and returns the largest difference / scale. */
    static double assertClose(String name, NDArray ours, NDArray reference) {
        assertThat(ours).as(name).isNotNull();
        assertThat(ours.getShape()).as(name).isEqualTo(reference.getShape());
        float[] a = ours.toFloatArray();
        float[] b = reference.toFloatArray();
        double scale = 1;
        for (float v : b) {
            scale = Math.max(scale, Math.abs(v));
        }
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        assertThat(worst).as("%s: largest difference (scale %.3g)", name, scale).isLessThanOrEqualTo(RELATIVE_ATOL * scale);
        return worst / scale;
    }

    @Test
    void paddingIsLeftOutOfTheBatchMean() {
        TrajectoryInputs full = TrajectoryInputs.read(EXTRA.resolve("inputs.safetensors"));
        // Row 1 cut to its first 7 tokens and right-padded with token 0, masked out.
        long[][] ids = full.inputIds().clone();
        long[][] mask = new long[3][12];
        for (int b = 0; b < 3; b++) {
            ids[b] = full.inputIds()[b].clone();
            java.util.Arrays.fill(mask[b], 1);
        }
        for (int p = 7; p < 12; p++) {
            ids[1][p] = 0;
            mask[1][p] = 0;
        }
        TrajectoryInputs padded = new TrajectoryInputs(ids, full.targets(), full.antiTargets(), mask);
        try (PredictionTrajectories all = PredictionTrajectories.compute(tuned, model, full, false);
             PredictionTrajectories withPadding = PredictionTrajectories.compute(tuned, model, padded, false)) {
            TrajectoryStatistic fullEntropy = all.entropy();
            TrajectoryStatistic paddedEntropy = withPadding.entropy();
            float[][] batched = paddedEntropy.batched();
            for (int row = 0; row < 3; row++) {
                for (int p = 0; p < 12; p++) {
                    float[][][] f = fullEntropy.perSequence();
                    double expected = p < 7 ? (f[0][row][p] + f[1][row][p] + f[2][row][p]) / 3.0
                            : (f[0][row][p] + f[2][row][p]) / 2.0;
                    assertThat((double) batched[row][p]).as("row %d pos %d", row, p)
                            .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4));
                }
            }
        }
    }

    @Test
    void missingTargetsOrAnEmptySliceAreRefused() {
        TrajectoryInputs full = TrajectoryInputs.read(EXTRA.resolve("inputs.safetensors"));
        TrajectoryInputs idsOnly = new TrajectoryInputs(full.inputIds(), null, null, null);
        try (PredictionTrajectories trajectories = PredictionTrajectories.compute(LogitLens.of(model), model, idsOnly,
                false)) {
            assertThat(trajectories.all()).extracting(TrajectoryStatistic::name)
                    .containsExactly("entropy", "forward_kl", "max_probability");
            assertThatThrownBy(trajectories::rank).isInstanceOf(LoupeException.class).hasMessageContaining("targets");
            assertThatThrownBy(() -> trajectories.slice(5, 5)).isInstanceOf(LoupeException.class)
                    .hasMessageContaining("keeps no position");
        }
        assertThatThrownBy(() -> new TrajectoryInputs(full.inputIds(), new long[][] {{1}}, null, null))
                .isInstanceOf(LoupeException.class).hasMessageContaining("shape of input_ids");
        assertThatThrownBy(() -> PositionSlice.parse("2-9")).isInstanceOf(LoupeException.class)
                .hasMessageContaining("START:END");
    }
}
