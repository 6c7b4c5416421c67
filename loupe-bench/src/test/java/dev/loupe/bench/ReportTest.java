package dev.loupe.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.bench.Report.Evaluation;
import dev.loupe.bench.Report.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's figures and targets from JMH result files written as JMH writes them. */
class ReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double MATMUL_FLOP = 2.0 * Math.pow(MatMulBench.N, 3);

    /** One JMH result entry: {@code benchmark}, {@code mode}, {@code params}, {@code primaryMetric}. */
    private static ObjectNode result(String method, String shape, double msPerOp) {
        ObjectNode result = JSON.createObjectNode();
        result.put("benchmark", "dev.loupe.bench.ForwardBench." + method);
        result.put("mode", "avgt");
        if (shape != null) {
            result.putObject("params").put("shape", shape).put("modelDir", "");
        }
        ObjectNode metric = result.putObject("primaryMetric");
        metric.put("score", msPerOp).put("scoreError", msPerOp / 100).put("scoreUnit", "ms/op");
        metric.putArray("rawData").addArray().add(msPerOp).add(msPerOp);
        return result;
    }

    /** A run whose ceiling is 100 GFLOP/s and whose forwards take {@code forward8} and {@code forward1} ms. */
    private static ArrayNode run(double forward8, double forward1, double cache, double ablation) {
        ArrayNode run = JSON.createArrayNode();
        run.add(result("matMulCeiling", null, MATMUL_FLOP / 100e9 * 1e3));
        run.add(result("forward", "8x128", forward8));
        run.add(result("forward", "1x128", forward1));
        run.add(result("runWithCacheAllHooks", "8x128", cache));
        run.add(result("runWithHooksZeroAblation", "8x128", ablation));
        return run;
    }

    private static double gemmMs(int batch, int positions) {
        return batch * positions * Report.Dims.GPT2_SMALL.flopsPerToken(positions) / 100e9 * 1e3;
    }

    @Test
    void shareOfTheCeilingOverheadRatiosAndTheIssue18Targets() {
        double forward8 = gemmMs(8, 128) / 0.85; // 85 % of the ceiling: met
        double forward1 = gemmMs(1, 128) / 0.60; // 60 %: missed
        Evaluation evaluation = Report.evaluate(Report.parse(run(forward8, forward1, forward8 * 1.08, forward8 * 1.05)));

        assertThat(evaluation.ceilingGflops()).isCloseTo(100, within(1e-9));
        List<Result> results = evaluation.results();
        assertThat(results.get(1).percent()).isCloseTo(85, within(1e-6));
        assertThat(results.get(1).met()).isTrue();
        assertThat(results.get(1).overheadMs()).isCloseTo(forward8 - gemmMs(8, 128), within(1e-6));
        assertThat(results.get(2).percent()).isCloseTo(60, within(1e-6));
        assertThat(results.get(2).met()).isFalse();
        assertThat(results.get(2).miss()).contains("forward 1x128: 60.0 % of ceiling, target ≥ 70 %");
        assertThat(results.get(3).ratio()).isCloseTo(1.08, within(1e-9));
        assertThat(results.get(3).met()).as("runWithCache ≤ 1.10× forward").isTrue();
        assertThat(results.get(4).met()).as("ablation ≤ 1.03× forward").isFalse();
        assertThat(results.get(0).overheadMs()).as("the ceiling itself has no overhead figure").isNull();
    }

    @Test
    void theMarkdownTableShowsThePreviousRunsFiguresBesideTheNewOnes(@TempDir Path dir) throws IOException {
        double forward8 = gemmMs(8, 128) / 0.70;
        Path before = dir.resolve("before.json");
        Path after = dir.resolve("after.json");
        Files.writeString(before, JSON.writeValueAsString(run(forward8, 200, forward8 * 1.2, forward8 * 1.05)));
        Files.writeString(after, JSON.writeValueAsString(run(forward8 / 2, 150, forward8 * 0.55, forward8 * 0.51)));
        Path markdown = dir.resolve("after.md");

        Report.main(new String[] {after.toString(), "--markdown", markdown.toString(), "--previous", before.toString()});

        String table = Files.readString(markdown);
        assertThat(table).contains("| ms/op before | ms/op now | change |", "(before: `" + before + "`)");
        String forwardRow = table.lines().filter(line -> line.startsWith("| forward | 8x128 |")).findFirst().orElseThrow();
        assertThat(forwardRow).contains("-50.0 %", "70.0 % → 140.0 %", "| met |");
        String oneRow = table.lines().filter(line -> line.startsWith("| forward | 1x128 |")).findFirst().orElseThrow();
        assertThat(oneRow).contains("| 200 ± 2.0 | 150 ± 1.5 | -25.0 % |");
        JsonNode parsed = JSON.readTree(after.toFile());
        assertThat(parsed).hasSize(5);
    }

    @Test
    void withoutAnEarlierRunTheTableHasOneColumnPerFigure(@TempDir Path dir) throws IOException {
        Path after = dir.resolve("after.json");
        Files.writeString(after, JSON.writeValueAsString(run(1000, 200, 1100, 1020)));
        Path markdown = dir.resolve("after.md");

        Report.main(new String[] {after.toString(), "--markdown", markdown.toString()});

        assertThat(Files.readString(markdown)).contains("| benchmark | params | ms/op | % ceiling | overhead ms |")
                .doesNotContain("before");
    }
}
