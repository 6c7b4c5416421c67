package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
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
import dev.loupe.lens.LensInputs;
import dev.loupe.lens.LensStats;
import dev.loupe.lens.LogitLens;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.tokenize.TokenBatch;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe lens apply}: every layer's logit-lens and tuned-lens outputs, written for Python to check. */
@Command(
        name = "apply",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Run a model with a tuned lens and write every layer's lens outputs to a safetensors file.",
        description = {
            "",
            "This is how Python users check Loupe's lenses against the tuned-lens library:",
            "  from safetensors.numpy import load_file",
            "  out = load_file(\"out.safetensors\")",
            "  # float32 [batch, pos, d_vocab]: TunedLens.forward(hidden_states[0], 0)",
            "  lens0 = out[\"tuned_lens.0\"]",
            "",
            "OUT holds, with the names of the tuned-lens fixture's reference.safetensors:",
            "  input_ids [batch, pos] int64 (and attention_mask, int64, if IN has one or the prompts were padded)",
            "  hidden_states.{i}   [batch, pos, d_model]  Hugging Face's output_hidden_states, i = 0..n_layers"
                    + " (the last one after the final norm)",
            "  final_logits        [batch, pos, d_vocab]  the model's logits",
            "  logit_lens.{i}      [batch, pos, d_vocab]  final norm + unembedding of hidden_states.{i}, i < n_layers",
            "  tuned_lens.{i}      [batch, pos, d_vocab]  the same after translator i",
            "  tuned_hidden.{i}    [batch, pos, d_model]  h + A_i h + b_i (TunedLens.transform_hidden)",
            "  kl_logit_lens, kl_tuned_lens  [n_layers, batch, pos]  KL(final ‖ lens) in nats; 0 at padded positions",
            "",
            "The input is --prompt TEXT (repeat for a batch; tokenized with a BOS token in front as"
                    + " TransformerLens's to_tokens does, padded on the right and masked) or --input IN, a"
                    + " safetensors file with int64 input_ids [batch, pos] and optionally attention_mask.",
            "",
            ModelOptions.LENS_BASIS_DESCRIPTION,
            ""
        },
        footer = {
            "",
            "Example:",
            "  loupe lens apply --model testdata/models/gpt2-tok --lens testdata/lens \\",
            "    --prompt 'Paris is the capital of' --output out.safetensors"
        })
final class LensApplyCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"--lens", "-l"}, required = true, paramLabel = "LENS",
            description = "Tuned lens folder: config.json + params.pt (or params.safetensors).")
    Path lens;

    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "A text to run; repeat the flag for a batch (needs the model's tokenizer).")
    List<String> prompts;

    @Option(names = "--input", paramLabel = "IN",
            description = "Or: safetensors file with input_ids [batch, pos] (int64) and optionally attention_mask.")
    Path input;

    @Option(names = {"--output", "-o", "--out"}, required = true, paramLabel = "OUT",
            description = "safetensors file to write (replaced if it exists).")
    Path out;

    @Override
    protected int execute() throws IOException {
        if ((input == null) == (prompts == null)) {
            throw new ParameterException(spec.commandLine(), "Give exactly one input: --prompt TEXT (repeated for a"
                    + " batch) or --input IN (a safetensors file with input_ids)");
        }
        OutputCheck.of(spec).modelFolder(modelOptions.folder()).lensFolder("--lens", lens).file("--input", input)
                .refuseFile("--output", out);
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer transformer = modelOptions.load(LensCommand.basis(lens));
             TunedLens tuned = TunedLens.load(lens, transformer)) {
            NDArray inputIds;
            NDArray mask = null;
            if (input != null) {
                TokenInput given = TokenInput.read(input, manager);
                inputIds = given.ids();
                mask = given.attentionMask() == null ? null : given.attentionMask().toType(DataType.INT64, false);
            } else {
                requireTokenizer(transformer, modelOptions.folder(), "--prompt", "--input IN with token ids");
                TokenBatch batch = transformer.toTokens(prompts, TextOptions.defaults());
                if (Arrays.stream(batch.lengths()).anyMatch(length -> length == 0)) {
                    throw new LoupeException("A --prompt has no tokens; give each prompt some text");
                }
                inputIds = batch.idsArray(manager);
                mask = batch.isPadded() ? batch.maskArray(manager) : null;
            }
            safePoint("before the forward pass; nothing was written");
            Map<String, NDArray> tensors = apply(transformer, tuned, inputIds, mask);
            safePoint("after the forward pass, before writing " + out + "; nothing was written");
            SafetensorsWriter.write(out, tensors);
            report(tensors, inputIds, mask, tuned.numLayers());
        }
        return 0;
    }

    /** Every output tensor, named as in the fixture's reference.safetensors. */
    private static Map<String, NDArray> apply(HookedTransformer transformer, TunedLens tuned, NDArray inputIds,
            NDArray mask) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("input_ids", inputIds.toType(DataType.INT64, false));
        if (mask != null) {
            tensors.put("attention_mask", mask.toType(DataType.INT64, false));
        }
        NDManager owner = inputIds.getManager();
        LogitLens logitLens = LogitLens.of(transformer);
        int layers = tuned.numLayers();
        try (LensInputs inputs = LensInputs.run(transformer, inputIds, mask, tuned.hook(), List.of())) {
            NDArray finalLogits = inputs.logits();
            NDArray real = mask == null ? null : mask.toType(DataType.FLOAT32, false).expandDims(0);
            NDList klLogit = new NDList();
            NDList klTuned = new NDList();
            for (int layer = 0; layer < layers; layer++) {
                tensors.put("hidden_states." + layer, keep(inputs.hidden(layer), owner));
            }
            tensors.put("hidden_states." + layers, keep(transformer.applyFinalNorm(inputs.finalResidual()), owner));
            tensors.put("final_logits", keep(finalLogits, owner));
            for (int layer = 0; layer < layers; layer++) {
                NDArray h = inputs.hidden(layer);
                NDArray logit = logitLens.forward(h, layer);
                NDArray tunedHidden = tuned.transformHidden(h, layer);
                NDArray tunedLogits = tuned.unembedding().forward(tunedHidden);
                tensors.put("logit_lens." + layer, keep(logit, owner));
                tensors.put("tuned_lens." + layer, keep(tunedLogits, owner));
                tensors.put("tuned_hidden." + layer, keep(tunedHidden, owner));
                klLogit.add(LensStats.klDivergence(finalLogits, logit));
                klTuned.add(LensStats.klDivergence(finalLogits, tunedLogits));
            }
            NDArray klLogitStack = NDArrays.stack(klLogit, 0); // [layer, batch, pos]
            NDArray klTunedStack = NDArrays.stack(klTuned, 0);
            if (real != null) { // padded positions read nothing real: 0, as the mask says
                klLogitStack = klLogitStack.mul(real);
                klTunedStack = klTunedStack.mul(real);
            }
            tensors.put("kl_logit_lens", keep(klLogitStack, owner));
            tensors.put("kl_tuned_lens", keep(klTunedStack, owner));
        }
        return tensors;
    }

    /** A copy owned by {@code owner}, so it outlives the run's cache. */
    private static NDArray keep(NDArray array, NDManager owner) {
        NDArray copy = array.toType(DataType.FLOAT32, true);
        copy.attach(owner);
        return copy;
    }

    private void report(Map<String, NDArray> tensors, NDArray inputIds, NDArray mask, int layers) {
        PrintWriter printer = out();
        printer.printf(Locale.ROOT, "Wrote %d tensors for input_ids %s to %s%n", tensors.size(),
                shape(inputIds.getShape().getShape()), out);
        float[] real = mask == null ? null : mask.toType(DataType.FLOAT32, false).toFloatArray();
        printer.println("Mean KL(final ‖ lens) over real positions, nats:");
        float[] logit = tensors.get("kl_logit_lens").toFloatArray();
        float[] tuned = tensors.get("kl_tuned_lens").toFloatArray();
        int perLayer = logit.length / layers;
        Table table = Table.withHeader("layer", "logit lens", "tuned lens").alignRight(1, 2);
        for (int layer = 0; layer < layers; layer++) {
            table.row(String.valueOf(layer), kl(mean(logit, layer * perLayer, perLayer, real)),
                    kl(mean(tuned, layer * perLayer, perLayer, real)));
        }
        table.print(printer);
        printer.flush();
    }

    private static String kl(double value) {
        return String.format(Locale.ROOT, "%.4f", value);
    }

    private static double mean(float[] values, int start, int n, float[] real) {
        double sum = 0;
        double count = 0;
        for (int i = 0; i < n; i++) {
            double weight = real == null ? 1 : real[i];
            sum += weight * values[start + i];
            count += weight;
        }
        return count == 0 ? 0 : sum / count;
    }
}
