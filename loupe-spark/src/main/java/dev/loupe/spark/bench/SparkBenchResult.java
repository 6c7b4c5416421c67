package dev.loupe.spark.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What {@link SparkBench} measured, written as JSON and as a Markdown table like {@code ./bench}'s other modes.
 *
 * @param model the model folder
 * @param tokens tokens harvested a round (chunks × sequence length)
 * @param hooks hooks harvested (one {@code hook_resid_post} a layer)
 * @param rounds rounds measured (after the warm-up)
 * @param harvestOneProcess seconds a round, one process ({@link SinglePassParquet})
 * @param harvestLocal2 seconds a round, {@code local[2]}
 * @param stepTokens tokens a lens-training step
 * @param stepOneProcess seconds a lens step, one process
 * @param stepLocal2 seconds a lens step, {@code local[2]}
 * @param loadBefore the 1-minute load average when the benchmark started
 * @param loadAfter the 1-minute load average when it ended
 * @param cores the machine's cores
 * @param java the JVM's version
 */
record SparkBenchResult(String model, long tokens, int hooks, int rounds, double harvestOneProcess,
        double harvestLocal2, int stepTokens, double stepOneProcess, double stepLocal2, double loadBefore,
        double loadAfter, int cores, String java) {

    /** Spark's harvest overhead against one process, in percent (negative: faster). */
    double harvestOverheadPercent() {
        return 100 * (harvestLocal2 / harvestOneProcess - 1);
    }

    /** Spark's lens-step overhead against one process, in percent. */
    double stepOverheadPercent() {
        return 100 * (stepLocal2 / stepOneProcess - 1);
    }

    /** Writes {@code json} and, beside it, the same figures as Markdown ({@code .md} for {@code .json}). */
    void write(Path json) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", model);
        out.put("machine", Map.of("cores", cores, "java", java, "load_average_before", loadBefore,
                "load_average_after", loadAfter));
        out.put("rounds", rounds);
        out.put("harvest", Map.of("tokens", tokens, "hooks", hooks, "one_process_s", harvestOneProcess,
                "local2_s", harvestLocal2, "overhead_percent", harvestOverheadPercent(), "target_percent", 15));
        out.put("lens_step", Map.of("tokens", stepTokens, "one_process_s", stepOneProcess, "local2_s", stepLocal2,
                "overhead_percent", stepOverheadPercent()));
        try {
            AtomicFiles.writeString(json, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(out));
            String name = json.getFileName().toString();
            Path markdown = json.resolveSibling((name.endsWith(".json") ? name.substring(0, name.length() - 5) : name)
                    + ".md");
            AtomicFiles.writeString(markdown, markdown());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + json + ": " + e.getMessage(), e);
        }
    }

    /** The Markdown table. */
    String markdown() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "### Loupe on Spark: `local[2]` against one process (`%s`)%n%n", model));
        out.append(String.format(Locale.ROOT, "%d cores, load average %.1f at the start and %.1f at the end; %s;"
                + " mean of %d round(s) after a warm-up.%n%n", cores, loadBefore, loadAfter, java, rounds));
        out.append("| what | one process | `local[2]` | Spark's overhead | target |\n|---|---|---|---|---|\n");
        out.append(String.format(Locale.ROOT, "| harvest, %d hooks, %d tokens, to Parquet | %.2f s (%.0f tokens/s) |"
                + " %.2f s (%.0f tokens/s) | %+.1f %% | ≤ 15 %% |%n", hooks, tokens, harvestOneProcess,
                tokens / harvestOneProcess, harvestLocal2, tokens / harvestLocal2, harvestOverheadPercent()));
        out.append(String.format(Locale.ROOT, "| tuned-lens training step, %d tokens | %.2f s | %.2f s | %+.1f %% | |%n",
                stepTokens, stepOneProcess, stepLocal2, stepOverheadPercent()));
        return out.toString();
    }
}
