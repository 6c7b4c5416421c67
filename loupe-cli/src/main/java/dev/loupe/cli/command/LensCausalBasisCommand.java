package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.Table;
import dev.loupe.cli.support.TokenInput;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensInputs;
import dev.loupe.lens.causal.AblationMode;
import dev.loupe.lens.causal.CausalBasis;
import dev.loupe.lens.causal.CausalBasisOptions;
import dev.loupe.lens.causal.CausalBasisSearch;
import dev.loupe.lens.causal.CausalFidelity;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StoppedException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe lens causal-basis}: the directions of each layer's residual a lens depends on most. */
@Command(
        name = "causal-basis",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Find, for every layer, the K directions of the residual stream whose removal changes a lens most.",
        description = {
            "",
            "The tuned-lens library's extract_causal_bases: direction j starts from the j-th left singular vector"
                    + " of the unembedding as the lens sees it (W_U for the logit lens; (I + A_i)ᵀ W_U, pulled back"
                    + " through translator i, for a tuned lens, where the library itself crashes), stays orthogonal"
                    + " to the directions before it, and is moved by L-BFGS to maximise its energy: the mean over"
                    + " every token of KL(lens(h) ‖ lens(h with the direction removed)), in nats.",
            "",
            "IN is a safetensors file with int64 input_ids [batch, pos], without padding (every position counts"
                    + " in the means, as in the library).",
            "",
            "OUT holds, for each layer i: layer_i.vectors [d_model, K] (orthonormal columns) and"
                    + " layer_i.energies [K], both float32, by descending energy.",
            "",
            "The table also runs the paper's causal-fidelity check: the model's mean output KL when each"
                    + " layer's basis is removed from the residual (blocks.i.hook_resid_pre), against a random"
                    + " K-dimensional subspace (seeded) removed the same way.",
            "",
            ModelOptions.LENS_BASIS_DESCRIPTION,
            ""
        },
        footer = {
            "",
            "Example:",
            "  loupe lens causal-basis --model testdata/models/gpt2-tok --lens logit \\",
            "    --input testdata/lens_extra/inputs.safetensors --k 1 \\",
            "    --max-evaluations 20 --out bases.safetensors"
        })
final class LensCausalBasisCommand extends LoupeCommand {
    /** Seeds the control subspaces (layer i uses RANDOM_SEED + i, as the library's fixture does with torch). */
    private static final long RANDOM_SEED = 1234;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"--lens", "-l"}, required = true, paramLabel = "logit|DIR",
            description = "logit for the logit lens, or a tuned lens folder (config.json + params.pt).")
    String lens;

    @Option(names = "--input", required = true, paramLabel = "IN",
            description = "safetensors file with input_ids [batch, pos] (int64).")
    Path input;

    @Option(names = "--k", required = true, paramLabel = "K", description = "Directions per layer.")
    int k;

    @Option(names = "--mode", paramLabel = "mean|zero", defaultValue = "mean",
            description = "How a direction is removed while its energy is measured (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--max-evaluations", paramLabel = "N", defaultValue = "100",
            description = "The most energy evaluations per direction (the library's max_iter; default: ${DEFAULT-VALUE}).")
    int maxEvaluations;

    @Option(names = {"--out", "-o"}, required = true, paramLabel = "OUT", description = "safetensors file to write.")
    Path out;

    @Override
    protected int execute() throws IOException {
        LensChoice choice = LensChoice.parse(lens);
        CausalBasisOptions options;
        try {
            options = new CausalBasisOptions(k, maxEvaluations, AblationMode.fromKey(mode),
                    CausalBasisOptions.DEFAULT_TOLERANCE);
        } catch (LoupeException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        OutputCheck check = OutputCheck.of(spec).modelFolder(modelOptions.folder()).file("--input", input);
        if (!choice.isLogit()) {
            check.lensFolder("--lens", choice.dir());
        }
        check.refuseFile("--out", out);
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer transformer = modelOptions.load(choice.basis())) {
            TokenInput given = TokenInput.read(input, manager);
            if (given.attentionMask() != null && given.attentionMask().toType(DataType.INT64, false)
                    .eq(0).any().getBoolean()) {
                throw new ParameterException(spec.commandLine(), input + " is padded (its attention_mask has zeros), but"
                        + " every position counts in a causal basis's means: give rows of equal length, unpadded");
            }
            Lens opened = choice.open(transformer);
            try (LensInputs inputs = LensInputs.run(transformer, given.ids(), null, opened.hook(), List.of())) {
                Map<String, NDArray> tensors = new LinkedHashMap<>();
                PrintWriter printer = out();
                Table table = Table.withHeader("layer", "energies", "model KL, basis removed",
                        "model KL, random subspace removed").alignRight(2, 3);
                for (int layer = 0; layer < opened.numLayers(); layer++) {
                    safePoint("before layer " + layer + "'s basis");
                    err().printf(Locale.ROOT, "layer %d of %d: searching %d directions%n", layer, opened.numLayers(), k);
                    err().flush();
                    CausalBasis basis = CausalBasisSearch.extract(opened, layer, inputs.hidden(layer), options, manager);
                    tensors.put("layer_" + layer + ".vectors", basis.vectors());
                    tensors.put("layer_" + layer + ".energies", manager.create(basis.energies()));
                    // The paper's causal-fidelity check: the basis should move the model's output far more than a
                    // random subspace of the same size removed at the same place.
                    double basisKl = CausalFidelity.measure(transformer, opened, layer, given.ids(), basis.vectors(),
                            options.mode()).meanKl();
                    NDArray random = CausalFidelity.randomSubspace((int) basis.vectors().getShape().get(0), k,
                            RANDOM_SEED + layer, manager);
                    double randomKl = CausalFidelity.measure(transformer, opened, layer, given.ids(), random,
                            options.mode()).meanKl();
                    table.row(String.valueOf(layer), energies(basis.energies()), format(basisKl), format(randomKl));
                }
                SafetensorsWriter.write(out, tensors);
                printer.printf(Locale.ROOT, "Causal bases of %s, K = %d, %s ablation (KL in nats; the model's is its"
                        + " output's mean KL when the subspace is removed from the residual the lens reads):%n",
                        choice.describe(), k, options.mode().key());
                table.print(printer);
                printer.println("Wrote " + tensors.size() + " tensors to " + out);
                printer.flush();
            } catch (StoppedException e) {
                throw new StoppedException(e.reason(), e.progress() + "; " + out + " was not written");
            } finally {
                LensChoice.close(opened);
            }
        }
        return 0;
    }

    private static String format(double value) {
        return String.format(Locale.ROOT, "%.4f", value);
    }

    private static String energies(float[] values) {
        StringBuilder text = new StringBuilder();
        for (float value : values) {
            text.append(text.length() == 0 ? "" : "  ").append(String.format(Locale.ROOT, "%.4f", value));
        }
        return text.toString();
    }
}
