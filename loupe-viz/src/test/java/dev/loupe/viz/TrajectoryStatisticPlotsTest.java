package dev.loupe.viz;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.lens.stats.TrajectoryStatistic;
import dev.loupe.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * Heatmaps of the tuned-lens library's own per-sequence statistics (testdata/lens_extra/trajectory.safetensors):
 * the cells are its batch means, and the PNG cells carry their colours.
 */
class TrajectoryStatisticPlotsTest {

    @Test
    void aStatisticsHeatmapShowsTheLibrarysBatchMeanInEveryCell() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> reference = Fixtures.readAll(Fixtures.ROOT.resolve("lens_extra/trajectory.safetensors"),
                    manager);
            TrajectoryStatistic entropy = statistic("entropy", reference.get("tuned.entropy.per_sequence"),
                    TrajectoryStatistic.layerLabels(2));
            Heatmap map = TrajectoryStatisticPlots.heatmap("tuned.entropy", entropy,
                    TrajectoryStatisticPlots.positions(entropy));
            assertThat(map.title()).isEqualTo("tuned.entropy (mean over 3 sequences)");
            assertThat(map.rowLabels()).containsExactly("layer 0", "layer 1", "output");
            assertThat(map.columnLabels()).hasSize(12).startsWith("0", "1");
            float[] batched = reference.get("tuned.entropy").toFloatArray();
            for (int row = 0; row < 3; row++) {
                for (int p = 0; p < 12; p++) {
                    assertThat(map.values()[row][p]).isCloseTo(batched[row * 12 + p], Offset.offset(1e-5f));
                }
            }
            BufferedImage image = PngExport.render(map);
            assertThat(image.getWidth()).isEqualTo(PngExport.size(map)[0]);
            int x = PngExport.LEFT + 4 * PngExport.CELL + PngExport.CELL / 2;
            int y = PngExport.TOP + PngExport.CELL + PngExport.CELL / 2;
            assertThat(image.getRGB(x, y) & 0xffffff).isEqualTo(map.scale().rgb(map.values()[1][4]));

            TrajectoryStatistic delta = statistic("log_prob_diff_delta",
                    reference.get("tuned.log_prob_diff_delta.per_sequence"), List.of("0→1", "1→output"));
            Heatmap signed = TrajectoryStatisticPlots.heatmap("tuned.log_prob_diff_delta", delta,
                    TrajectoryStatisticPlots.positions(delta));
            assertThat(signed.rowLabels()).containsExactly("0→1", "1→output");
            double largest = Heatmap.maxAbs(signed.values());
            assertThat(signed.scale().rgb(-largest)).as("signed values: red below zero, symmetric").isEqualTo(0xb2182b);
            assertThat(signed.scale().rgb(largest)).isEqualTo(0x2166ac);
        }
    }

    private static TrajectoryStatistic statistic(String name, NDArray perSequence, List<String> rows) {
        long[] shape = perSequence.getShape().getShape();
        float[] flat = perSequence.toFloatArray();
        float[][][] values = new float[(int) shape[0]][(int) shape[1]][(int) shape[2]];
        for (int b = 0; b < shape[0]; b++) {
            for (int r = 0; r < shape[1]; r++) {
                System.arraycopy(flat, (int) ((b * shape[1] + r) * shape[2]), values[b][r], 0, (int) shape[2]);
            }
        }
        return new TrajectoryStatistic(name, rows, values, null);
    }
}
