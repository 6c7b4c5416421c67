package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LogitLens;
import dev.loupe.lens.PredictionTrajectory;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe lens trajectory}: what each layer predicts at each position of one prompt. */
@Command(
        name = "trajectory",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Print a prompt's prediction trajectory: each layer's top next-token prediction at each position.",
        description = {
            "",
            "Rows are layers 0..n_layers-1 read through the lens (the tuned lens with --lens, the logit lens"
                    + " without), then the model's own output. Each cell shows the top-1 next token and its"
                    + " probability. Below it: KL(output ‖ layer) per cell, and with --target the rank of that"
                    + " token (1 = the top prediction).",
            "",
            "--output FILE writes the whole trajectory (top-k tokens and probabilities, entropy, KL, target"
                    + " ranks) as JSON (FILE.json) or safetensors (any other name) for plotting.",
            "",
            ModelOptions.LENS_BASIS_DESCRIPTION,
            ""
        },
        footer = {
            "",
            "Example:",
            "  loupe lens trajectory --model testdata/models/gpt2-tok \\",
            "    --lens testdata/lens \\",
            "    --prompt 'Paris is the capital of' --target ' France'"
        })
final class LensTrajectoryCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"--lens", "-l"}, paramLabel = "LENS",
            description = "Tuned lens folder (config.json + params.pt). Without it: the logit lens.")
    Path lens;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT",
            description = "The text to read (a BOS token is put in front if the model wants one).")
    String prompt;

    @Option(names = "--target", paramLabel = "TOKEN",
            description = "A token (text that is exactly one token, e.g. ' Paris') whose rank to show.")
    String target;

    @Option(names = "--target-id", paramLabel = "ID", description = "Or: the target as a token id.")
    Long targetId;

    @Option(names = {"--top-k", "-k"}, paramLabel = "K", defaultValue = "5",
            description = "Top tokens kept per cell in --output (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = {"--output", "-o"}, paramLabel = "FILE",
            description = "Also write the trajectory: FILE.json as JSON, otherwise safetensors.")
    Path output;

    @Override
    protected int execute() throws IOException {
        if (target != null && targetId != null) {
            throw new ParameterException(spec.commandLine(), "--target and --target-id are mutually exclusive");
        }
        if (topK < 1) {
            throw new ParameterException(spec.commandLine(), "--top-k must be at least 1, got " + topK);
        }
        OutputCheck.of(spec).modelFolder(modelOptions.folder()).lensFolder("--lens", lens).refuseFile("--output", output);
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer transformer = modelOptions.load(LensCommand.basis(lens))) {
            requireTokenizer(transformer, modelOptions.folder(), "--prompt", "a model folder with tokenizer.json");
            NDArray tokens = transformer.toTokens(prompt, manager);
            if (tokens.size() == 0) {
                throw new LoupeException("--prompt has no tokens; give it some text");
            }
            Long targetToken = targetId != null ? targetId : target == null ? null : transformer.toSingleToken(target);
            PredictionTrajectory trajectory;
            if (lens == null) {
                trajectory = compute(LogitLens.of(transformer), transformer, tokens, targetToken);
            } else {
                try (TunedLens tuned = TunedLens.load(lens, transformer)) {
                    trajectory = compute(tuned, transformer, tokens, targetToken);
                }
            }
            PrintWriter printer = out();
            printer.print(trajectory.toTable());
            if (output != null) {
                safePoint("before writing " + output + "; nothing was written");
                if (output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json")) {
                    trajectory.writeJson(output);
                } else {
                    trajectory.writeSafetensors(output);
                }
                printer.println();
                printer.println("Wrote the trajectory to " + output);
            }
            printer.flush();
        }
        return 0;
    }

    private PredictionTrajectory compute(Lens chosen, HookedTransformer transformer, NDArray tokens, Long targetToken) {
        return PredictionTrajectory.compute(chosen, transformer, tokens, targetToken, topK, List.of());
    }
}
