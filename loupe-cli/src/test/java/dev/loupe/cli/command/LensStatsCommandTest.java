package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.GPT2_TOK;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe lens stats} against every tensor of the tuned-lens library's trajectory.safetensors. */
class LensStatsCommandTest {
    static final Path EXTRA = Path.of("../testdata/lens_extra");
    static final Path LENS = Path.of("../testdata/lens");

    @TempDir
    Path dir;

    @Test
    void theStatisticsFileHoldsTheLibrarysNumbers() {
        Path out = dir.resolve("stats.safetensors");
        CliTestSupport.Result result = run("lens", "stats", "--model", GPT2_TOK.toString(), "--lens", LENS.toString(),
                "--input", EXTRA.resolve("inputs.safetensors").toString(), "--out", out.toString(), "--mask-input",
                "--slice", "2:9", "--stride", "2", "--plots", dir.resolve("plots").toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("of 3 sequences × 12 positions").contains("Wrote").contains("plots into");
        assertThat(dir.resolve("plots/tuned.entropy.png")).isNotEmptyFile();
        assertThat(dir.resolve("plots/tuned_vs_logit.js_divergence.png")).isNotEmptyFile();
        assertThat(dir.resolve("plots/trajectory_stats.html")).content().contains("tuned.log_prob_diff_delta");
        Path reference = EXTRA.resolve("trajectory.safetensors");
        double worst = 0;
        try (SafetensorsFile expected = SafetensorsFile.open(reference); SafetensorsFile ours = SafetensorsFile.open(out)) {
            assertThat(ours.names()).containsAll(expected.names())
                    .contains("tuned_vs_logit.jensen_shannon", "logit_vs_tuned.total_variation_distance");
            for (String name : expected.names()) {
                assertThat(ours.info(name).shape()).as(name).isEqualTo(expected.info(name).shape());
                float[] a = CliTestSupport.floats(out, name);
                float[] b = CliTestSupport.floats(reference, name);
                double scale = 1;
                double diff = 0;
                for (int i = 0; i < b.length; i++) {
                    scale = Math.max(scale, Math.abs(b[i]));
                    diff = Math.max(diff, Math.abs(a[i] - b[i]));
                }
                assertThat(diff).as(name).isLessThanOrEqualTo(1e-4 * scale);
                worst = Math.max(worst, diff / scale);
            }
        }
        assertThat(worst).isLessThan(1e-4);
    }

    @Test
    void inputsWithoutTokenIdsAndBadSlicesAreRefused() {
        Path out = dir.resolve("stats.safetensors");
        run("lens", "stats", "--model", GPT2_TOK.toString(), "--input", EXTRA.resolve("trajectory.safetensors").toString(),
                "--out", out.toString()).failedWithOneLine("no 'input_ids'");
        run("lens", "stats", "--model", GPT2_TOK.toString(), "--input", EXTRA.resolve("inputs.safetensors").toString(),
                "--out", out.toString(), "--slice", "2-9").failedWithOneLine("START:END");
    }
}
