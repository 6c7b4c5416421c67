package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.TokenInput;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.generate.TextGenerator;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenBatch;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options of every command that generates tokens ({@code loupe generate}, {@code loupe lens generate}),
 * as a picocli mixin ({@code @Mixin GenerationOptions generation;}), and what those commands do alike with
 * them: the usage checks, the prompt as token ids {@code [batch, pos]}, the rows printed, and
 * {@code output_ids [batch, pos + new]} written to --out. A command adds its own options (a frequency
 * penalty, a lens) around them.
 */
final class GenerationOptions {
    /** The command this mixin is part of, whose usage errors these are. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "A text to continue; repeat the flag for a batch (needs the model's tokenizer).")
    List<String> prompts;

    @Option(names = "--input", paramLabel = "IN",
            description = "Or: safetensors file with input_ids [batch, pos] (int64) and optionally attention_mask.")
    Path input;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "10",
            description = "How many tokens to add (default: ${DEFAULT-VALUE}, as TransformerLens).")
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

    /**
     * Refuses, before anything loads, a usage these options cannot mean: no input or both, a sampling
     * flag without --sample, a negative --max-new-tokens.
     */
    void check() {
        if ((input == null) == (prompts == null)) {
            throw usage(input == null
                    ? "Missing the input: give --prompt TEXT (repeated for a batch) or --input IN (a safetensors file"
                            + " with input_ids)"
                    : "--prompt and --input are mutually exclusive: give texts or token ids, not both");
        }
        requireSample("--temperature", temperature);
        requireSample("--top-k", topK);
        requireSample("--top-p", topP);
        requireSample("--seed", seed);
        if (maxNewTokens < 0) {
            throw usage("--max-new-tokens must be ≥ 0, got " + maxNewTokens);
        }
    }

    /** Refuses {@code flag}, given as {@code value} (null: not given), without --sample. */
    void requireSample(String flag, Object value) {
        if (!sample && value != null) {
            throw usage(flag + " applies to sampling only: add --sample (without it, generation is greedy)");
        }
    }

    /**
     * Refuses an --out inside the model folder or the lens folder, and an --input that is not a file
     * ({@link OutputCheck}).
     *
     * @param lensFolder the lens folder the command reads, or null
     */
    void checkFiles(Path modelFolder, Path lensFolder) {
        OutputCheck.of(command).modelFolder(modelFolder).file("--input", input).lensFolder("--lens", lensFolder)
                .refuseFile("--out", out);
    }

    /** Refuses to stop at the end-of-sequence token of a model that has none (no tokenizer). */
    void requireEndOfSequence(HookedTransformer transformer) {
        if (!noStopAtEos && !transformer.hasTokenizer()) {
            throw usage("this model has no tokenizer, so it has no end-of-sequence token to stop at: add"
                    + " --no-stop-at-eos to generate --max-new-tokens tokens");
        }
    }

    /**
     * These options as {@link GenerateOptions}, a usage error where they do not fit together.
     *
     * @param more the command's own settings, added to the builder
     */
    GenerateOptions toGenerateOptions(UnaryOperator<GenerateOptions.Builder> more) {
        try {
            return more.apply(GenerateOptions.builder().maxNewTokens(maxNewTokens).doSample(sample)
                    .temperature(temperature == null ? 1f : temperature).topK(topK).topP(topP)
                    .seed(seed == null ? 0L : seed).usePastKvCache(!noKvCache).stopAtEos(!noStopAtEos)).build();
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    /**
     * The prompt: the ids and mask of --input, or the --prompt texts tokenized (left-padded as
     * {@code options} say; the mask int64, or null when no row is padded).
     *
     * @param modelFolder the model's folder, for the message when it has no tokenizer
     */
    TokenInput readPrompt(HookedTransformer transformer, Path modelFolder, GenerateOptions options, NDManager manager) {
        if (input != null) {
            return TokenInput.read(input, manager);
        }
        LoupeCommand.requireTokenizer(transformer, modelFolder, "--prompt", "--input IN with token ids");
        TokenBatch batch = TextGenerator.tokenize(transformer, prompts, options);
        return new TokenInput(batch.idsArray(manager), batch.isPadded() ? batch.maskArray(manager) : null);
    }

    /**
     * Prints each row of {@code output [batch, width]} as text when the model has a tokenizer (token ids
     * without their padding), else as token ids.
     *
     * @param mask the prompt's attention mask [batch, promptLength], or null
     * @param promptsAsGiven whether a --prompt row shows its text as given, followed by its continuation
     */
    void printRows(HookedTransformer transformer, NDArray output, NDArray mask, int promptLength, boolean promptsAsGiven) {
        PrintWriter print = command.commandLine().getOut();
        long[] flat = output.toLongArray();
        long[] pads = mask == null ? null : mask.toType(DataType.INT64, false).toLongArray();
        int width = (int) output.getShape().get(1);
        for (int b = 0; b < output.getShape().get(0); b++) {
            int start = 0;
            while (pads != null && start < promptLength && pads[b * promptLength + start] == 0) {
                start++;
            }
            long[] row = Arrays.copyOfRange(flat, b * width + start, (b + 1) * width);
            String text;
            if (!transformer.hasTokenizer()) {
                text = Arrays.toString(row);
            } else if (promptsAsGiven && prompts != null) {
                long[] added = Arrays.copyOfRange(flat, b * width + promptLength, (b + 1) * width);
                text = prompts.get(b) + transformer.tokenizer().decode(added);
            } else {
                text = transformer.tokenizer().decode(row);
            }
            print.printf("[%d] %s%n", b, text);
        }
    }

    /**
     * Writes {@code output_ids} (and the prompt's attention mask widened to the output, when there is one)
     * to --out, at a safe point; nothing without --out.
     *
     * @param done what has been done when a stop comes before writing, for its message
     */
    void write(NDArray output, NDArray mask, String done) {
        if (out == null) {
            return;
        }
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("output_ids", output);
        if (mask != null) {
            tensors.put("attention_mask", Generator.extendMask(mask, (int) output.getShape().get(1)));
        }
        LoupeCommand.safePoint(done + ", before writing " + out + "; it was not written");
        SafetensorsWriter.write(out, tensors);
        command.commandLine().getErr().println("Wrote output_ids " + LoupeCommand.shape(output.getShape().getShape())
                + " to " + out);
    }

    private ParameterException usage(String message) {
        return new ParameterException(command.commandLine(), message);
    }
}
