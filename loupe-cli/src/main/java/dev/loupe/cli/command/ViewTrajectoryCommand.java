package dev.loupe.cli.command;

import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.WeightsNote;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.viz.HtmlReport;
import dev.loupe.viz.LensTrajectory;
import dev.loupe.viz.PngExport;
import dev.loupe.viz.TrajectoryData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

/** {@code loupe view trajectory}: the logit lens at every layer and position, as Tuned Lens plots it. */
@Command(
        name = "trajectory",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        modelTransformer = ModelOptions.TokenizerFixture.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Prediction trajectory: the logit lens's (and a tuned lens's) top token at every layer and position.",
        description = {
            "",
            "Reads each layer's residual stream (blocks.L.hook_resid_pre, and the final residual for the"
                    + " output row) through ln_final and the unembedding at every position, as if the model stopped"
                    + " there: the logit lens. Each cell shows the top next-token prediction, coloured by its"
                    + " probability, the distribution's entropy, or its KL divergence from the model's output.",
            "",
            "With --lens DIR a tuned lens (config.json + params.pt, as the Python tuned-lens library saves it, or as"
                    + " `loupe lens train` writes it) is drawn beside the logit lens (HTML: pick it; PNG: the tuned"
                    + " lens alone); the model is then loaded in the lens's basis (unprocessed for Python lenses).",
            "",
            "HTML: switch the colouring with the buttons; hover a cell for the top --top tokens. PNG: coloured"
                    + " by --color.",
            ""
        })
final class ViewTrajectoryCommand extends LoupeCommand {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    ViewOptions view;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5",
            description = "How many top tokens each cell keeps for its tooltip (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = {"--lens", "-l"}, paramLabel = "LENS", description = "A tuned lens folder to show too.")
    Path lens;

    @Option(names = "--color", paramLabel = "STAT", defaultValue = "probability", converter = StatisticConverter.class,
            description = "What colours a PNG's cells: probability, entropy or kl (default: ${DEFAULT-VALUE}).")
    TrajectoryData.Statistic color;

    @Override
    protected int execute() {
        if (top < 1) {
            throw new ParameterException(spec.commandLine(), "--top must be at least 1, got " + top);
        }
        view.checkOutput(spec, modelOptions.folder(), lens);
        try (HookedTransformer model = modelOptions.load(ModelOptions.lensBasis(lens));
             TunedLens tuned = lens == null ? null : TunedLens.load(lens, model)) {
            long[] ids = view.input(model, modelOptions.folder());
            List<TrajectoryData> trajectories = new ArrayList<>();
            trajectories.add(LensTrajectory.logitLens(model, ids, top));
            if (tuned != null) {
                trajectories.add(LensTrajectory.run(model, tuned, ids, top));
            }
            TrajectoryData shown = trajectories.get(trajectories.size() - 1);
            String weights = WeightsNote.of(modelOptions.folder());
            String line = view.write(weights,
                    () -> HtmlReport.titled("Prediction trajectory of " + model.config().modelName())
                            .paragraph(weights)
                            .paragraph(view.describeInput())
                            .trajectory(tuned == null ? "Logit lens" : "Logit lens and tuned lens", trajectories),
                    () -> PngExport.render(shown, color));
            out().println(line);
            out().flush();
        }
        return 0;
    }

    /** {@code probability}, {@code entropy} or {@code kl}, any case. */
    static final class StatisticConverter implements ITypeConverter<TrajectoryData.Statistic> {
        @Override
        public TrajectoryData.Statistic convert(String value) {
            for (TrajectoryData.Statistic statistic : TrajectoryData.Statistic.values()) {
                if (statistic.key().equals(value.toLowerCase(Locale.ROOT))) {
                    return statistic;
                }
            }
            throw new TypeConversionException("expected probability, entropy or kl, got '" + value + "'");
        }
    }
}
