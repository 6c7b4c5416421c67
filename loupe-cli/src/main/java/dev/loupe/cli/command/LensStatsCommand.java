package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensHook;
import dev.loupe.lens.LogitLens;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.stats.PositionSlice;
import dev.loupe.lens.stats.TrajectoryInputs;
import dev.loupe.lens.stats.TrajectoryStatsOptions;
import dev.loupe.lens.stats.TrajectoryStatsReport;
import dev.loupe.model.HookedTransformer;
import dev.loupe.viz.Heatmap;
import dev.loupe.viz.HtmlReport;
import dev.loupe.viz.PngExport;
import dev.loupe.viz.TrajectoryStatisticPlots;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe lens stats}: the tuned-lens library's trajectory statistics of a batch, as safetensors. */
@Command(
        name = "stats",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Compute trajectory statistics of a batch per layer and position: cross-entropy, entropy, KL, ranks.",
        description = {
            "",
            "IN holds int64 input_ids [batch, pos] and, for cross-entropy, rank and log-prob difference, targets"
                    + " and anti_targets [batch, pos] (usually the next token and the current one); attention_mask"
                    + " [batch, pos] marks padding, which the batch means leave out (the Python library has no"
                    + " padding).",
            "",
            "OUT gets, for the logit lens (\"logit\") and with --lens the tuned lens (\"tuned\"): LENS.cross_entropy,"
                    + " .entropy, .forward_kl, .max_probability, .rank, .log_prob_diff [layer + output, pos] and"
                    + " .log_prob_diff_delta [layer, pos], each the mean over the batch, and each with .per_sequence"
                    + " [batch, ...]. With two lenses: A_vs_B.kl_divergence; the library's js_divergence (half the"
                    + " symmetrised KL) and total_variation (max |p_a − p_b|), named as the library names them for"
                    + " interoperability; the true jensen_shannon and total_variation_distance; and distance.*"
                    + " [layer, batch, pos] (tuned vs logit).",
            "",
            "--mask-input adds LENS_masked.entropy and .max_probability, every input token's logit set to"
                    + " −max float at every lens layer (the other statistics are meaningless there: the targets are"
                    + " input tokens). --slice adds LENS.slice.* on those positions, --stride LENS.stride.* on every"
                    + " n-th layer and the output.",
            "",
            ModelOptions.LENS_BASIS_DESCRIPTION,
            ""
        },
        footer = {
            "",
            "Example:",
            "  loupe lens stats --model testdata/models/gpt2-tok --lens testdata/lens \\",
            "    --input testdata/lens_extra/inputs.safetensors \\",
            "    --out stats.safetensors --slice 2:9 --stride 2"
        })
final class LensStatsCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"--lens", "-l"}, paramLabel = "DIR",
            description = "A tuned lens folder to compute beside the logit lens.")
    Path lens;

    @Option(names = "--input", required = true, paramLabel = "IN",
            description = "safetensors with input_ids [, targets, anti_targets, attention_mask], int64 [batch, pos].")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "The safetensors file to write.")
    Path out;

    @Option(names = "--mask-input", description = "Also the entropy and top probability with input tokens masked.")
    boolean maskInput;

    @Option(names = "--slice", paramLabel = "A:B", description = "Also every statistic on positions A..B-1 (Python slice).")
    String slice;

    @Option(names = "--stride", paramLabel = "N", defaultValue = "0",
            description = "Also every statistic on every N-th layer and the output.")
    int stride;

    @Option(names = "--plots", paramLabel = "DIR",
            description = "Also draw each statistic's batch mean: DIR/NAME.png and DIR/trajectory_stats.html.")
    Path plots;

    @Override
    protected int execute() throws IOException {
        OutputCheck check = OutputCheck.of(spec).modelFolder(modelOptions.folder()).lensFolder("--lens", lens)
                .file("--input", input);
        check.refuseFile("--out", out);
        check.refuseFolder("--plots", plots);
        TrajectoryStatsOptions options = new TrajectoryStatsOptions(maskInput,
                slice == null ? null : PositionSlice.parse(slice), stride);
        TrajectoryInputs inputs = TrajectoryInputs.read(input);
        try (HookedTransformer transformer = modelOptions.load(LensCommand.basis(lens));
             TunedLens tuned = lens == null ? null : TunedLens.load(lens, transformer);
             NDManager manager = NDManager.newBaseManager()) {
            Map<String, Lens> lenses = new LinkedHashMap<>();
            lenses.put("logit", LogitLens.of(transformer, tuned == null ? LensHook.RESID_PRE : tuned.hook()));
            if (tuned != null) {
                lenses.put("tuned", tuned);
            }
            TrajectoryStatsReport report = TrajectoryStatsReport.compute(transformer, lenses, inputs, options);
            Map<String, NDArray> tensors = report.toTensors(manager);
            safePoint("before writing " + out + "; nothing was written");
            SafetensorsWriter.write(out, tensors);
            if (plots != null) {
                drawPlots(report);
            }
            out().printf("%d statistics of %d sequences × %d positions%n", tensors.size(), inputs.batchSize(),
                    inputs.length());
            out().println("Wrote " + out);
            out().flush();
        }
        return 0;
    }

    private void drawPlots(TrajectoryStatsReport report) {
        HtmlReport page = HtmlReport.titled("Trajectory statistics of " + input.getFileName());
        report.statistics().forEach((name, statistic) -> {
            Heatmap map = TrajectoryStatisticPlots.heatmap(name, statistic, TrajectoryStatisticPlots.positions(statistic));
            page.heatmap(map);
            PngExport.write(PngExport.render(map), plots.resolve(name + ".png"));
        });
        Path html = page.write(plots.resolve("trajectory_stats.html"));
        out().println("Drew " + report.statistics().size() + " plots into " + plots + " (" + html.getFileName() + ")");
    }
}
