package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.TokenInput;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.generate.TextGenerator;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.lens.Lens;
import dev.loupe.lens.decode.LayerDecoding;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenBatch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe lens generate}: generation whose next token is read through a lens at an intermediate layer. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Continue texts or token ids, reading each next token through a lens at layer I.",
        description = {
            "",
            "The tuned-lens library's TunedLens.generate: every step runs the model over the new tokens, reads"
                    + " the residual entering block I at the last position through the lens (translator I for a"
                    + " tuned lens), and takes the most likely token (--sample: draws it, as loupe generate does)."
                    + " Batches and the key/value cache work as in loupe generate; the library's version re-feeds"
                    + " the whole sequence into its cache each step, which changes the tokens, and breaks on"
                    + " batches. Loupe's tokens are those of a plain recomputation at every step.",
            "",
            "IN is a safetensors file with int64 input_ids [batch, pos] and optionally attention_mask (padding on"
                    + " the left). OUT gets output_ids [batch, pos + generated] (int64).",
            "",
            ModelOptions.LENS_BASIS_DESCRIPTION,
            ""
        },
        footer = {
            "",
            "Example:",
            "  loupe lens generate --model testdata/models/gpt2-tok --lens testdata/lens \\",
            "    --layer 1 --prompt 'The capital of France is' --max-new-tokens 8"
        })
final class LensGenerateCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"--lens", "-l"}, required = true, paramLabel = "logit|DIR",
            description = "logit for the logit lens, or a tuned lens folder (config.json + params.pt).")
    String lens;

    @Option(names = "--layer", required = true, paramLabel = "I",
            description = "The layer to read the next token at (0 = the embeddings; negative counts from the end).")
    int layer;

    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "A text to continue; repeat the flag for a batch (needs the model's tokenizer).")
    List<String> prompts;

    @Option(names = "--input", paramLabel = "IN",
            description = "Or: safetensors file with input_ids [batch, pos] (int64) and optionally attention_mask.")
    Path input;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "10",
            description = "How many tokens to add (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--sample", description = "Sample instead of taking the most likely token.")
    boolean sample;

    @Option(names = "--temperature", paramLabel = "T", description = "With --sample: divide the logits by T (default 1).")
    Float temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "With --sample: draw from the K most likely tokens only.")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P",
            description = "With --sample: draw from the fewest most likely tokens whose probability exceeds P.")
    Float topP;

    @Option(names = "--seed", paramLabel = "S", description = "With --sample: the random seed (default 0).")
    Long seed;

    @Option(names = "--no-kv-cache",
            description = "Recompute every position each step instead of reusing cached keys and values.")
    boolean noKvCache;

    @Option(names = "--no-stop-at-eos", description = "Keep generating after the end-of-sequence token.")
    boolean noStopAtEos;

    @Option(names = "--out", paramLabel = "OUT", description = "safetensors file to write output_ids to.")
    Path out;

    @Override
    protected int execute() throws IOException {
        if ((input == null) == (prompts == null)) {
            throw new ParameterException(spec.commandLine(), "Give exactly one input: --prompt TEXT (repeated for a"
                    + " batch) or --input IN (a safetensors file with input_ids)");
        }
        if (!sample && (temperature != null || topK != null || topP != null || seed != null)) {
            throw new ParameterException(spec.commandLine(), "--temperature, --top-k, --top-p and --seed apply to"
                    + " sampling only: add --sample (without it, generation is greedy)");
        }
        GenerateOptions options = options();
        LensChoice choice = LensChoice.parse(lens);
        OutputCheck check = OutputCheck.of(spec).modelFolder(modelOptions.folder()).file("--input", input);
        if (!choice.isLogit()) {
            check.lensFolder("--lens", choice.dir());
        }
        check.refuseFile("--out", out);
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer transformer = modelOptions.load(choice.basis())) {
            if (!noStopAtEos && !transformer.hasTokenizer()) {
                throw new ParameterException(spec.commandLine(), "this model has no tokenizer, so it has no end-of-sequence"
                        + " token to stop at: add --no-stop-at-eos");
            }
            NDArray ids;
            NDArray mask;
            if (input != null) {
                TokenInput given = TokenInput.read(input, manager);
                ids = given.ids();
                mask = given.attentionMask() == null ? null : given.attentionMask().toType(DataType.INT64, false);
            } else {
                requireTokenizer(transformer, modelOptions.folder(), "--prompt", "--input IN with token ids");
                TokenBatch batch = TextGenerator.tokenize(transformer, prompts, options);
                ids = batch.idsArray(manager);
                mask = batch.isPadded() ? batch.maskArray(manager) : null;
            }
            Lens opened = choice.open(transformer);
            try {
                NDArray all = LayerDecoding.generate(transformer, opened, layer, ids, mask, options);
                printRows(transformer, all, mask, (int) ids.getShape().get(1));
                if (out != null) {
                    Map<String, NDArray> tensors = new LinkedHashMap<>();
                    tensors.put("output_ids", all);
                    if (mask != null) {
                        tensors.put("attention_mask", Generator.extendMask(mask, (int) all.getShape().get(1)));
                    }
                    safePoint("after generating, before writing " + out + "; it was not written");
                    SafetensorsWriter.write(out, tensors);
                    err().println("Wrote output_ids " + shape(all.getShape().getShape()) + " to " + out);
                }
            } finally {
                LensChoice.close(opened);
            }
            out().flush();
            err().flush();
        }
        return 0;
    }

    private GenerateOptions options() {
        if (maxNewTokens < 0) {
            throw new ParameterException(spec.commandLine(), "--max-new-tokens must be ≥ 0, got " + maxNewTokens);
        }
        try {
            return GenerateOptions.builder().maxNewTokens(maxNewTokens).doSample(sample)
                    .temperature(temperature == null ? 1f : temperature).topK(topK).topP(topP)
                    .seed(seed == null ? 0L : seed).usePastKvCache(!noKvCache).stopAtEos(!noStopAtEos).build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** Each row's text (without its padding) when the model has a tokenizer, else its token ids. */
    private void printRows(HookedTransformer transformer, NDArray output, NDArray mask, int promptLength) {
        long[] flat = output.toLongArray();
        long[] pads = mask == null ? null : mask.toLongArray();
        int width = (int) output.getShape().get(1);
        for (int b = 0; b < output.getShape().get(0); b++) {
            int start = 0;
            while (pads != null && start < promptLength && pads[b * promptLength + start] == 0) {
                start++;
            }
            long[] row = Arrays.copyOfRange(flat, b * width + start, (b + 1) * width);
            String text = transformer.hasTokenizer() ? transformer.tokenizer().decode(row) : Arrays.toString(row);
            out().printf("[%d] %s%n", b, text);
        }
    }
}
