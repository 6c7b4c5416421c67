package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.TokenInput;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StoppedException;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code loupe generate}: continue texts or token ids, greedily or by sampling, as TransformerLens's generate. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Continue texts or token ids with a model, greedily or by sampling (TransformerLens's generate).",
        description = {
            "",
            "Greedy by default (the most likely token each step); --sample draws from the model's distribution,"
                    + " shaped by --temperature, --top-k or --top-p (TransformerLens uses top-k when both are"
                    + " given) and --freq-penalty, reproducibly for one --seed.",
            "",
            "One --prompt is streamed as its tokens are produced; a batch (--prompt repeated, left-padded so"
                    + " that every prompt ends where its continuation starts) prints each row when done. A row"
                    + " that produces the end-of-sequence token stops there and is filled with it"
                    + " (--no-stop-at-eos: keep going).",
            "",
            "IN is a safetensors file holding the int64 tensor input_ids [batch, pos] and, optionally,"
                    + " attention_mask [batch, pos] (1 = real token, 0 = padding, which must be on the left).",
            "",
            "OUT gets output_ids [batch, pos + N] (int64): the input followed by the N new tokens, rows that"
                    + " stopped early filled with the end-of-sequence token; attention_mask too when the input"
                    + " was padded.",
            ""
        },
        footer = {
            "",
            "Example: greedy, then sampled, continuation of a text.",
            "  loupe generate --model testdata/models/gpt2-tok \\",
            "    --prompt 'The capital of France is' --max-new-tokens 20",
            "  loupe generate --model testdata/models/gpt2-tok --prompt 'Once upon a time' \\",
            "    --sample --temperature 0.8 --top-p 0.9 --seed 1",
            "",
            "Example: token ids in and out, for a check against Python.",
            "  loupe generate --model testdata/models/gpt2 \\",
            "    --input testdata/models/gpt2/reference.safetensors \\",
            "    --max-new-tokens 8 --no-stop-at-eos --out out.safetensors"
        })
public final class GenerateCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    GenerationOptions generation;

    @Option(names = "--freq-penalty", paramLabel = "F",
            description = "With --sample: subtract F times a token's count so far from its logit.")
    Float freqPenalty;

    @Option(names = "--prepend-bos", negatable = true,
            description = "With --prompt: put the BOS token first (default: as the model's default_prepend_bos says).")
    Boolean prependBos;

    @Override
    protected int execute() throws IOException {
        checkUsage();
        GenerateOptions options = generation.toGenerateOptions(builder -> builder
                .freqPenalty(freqPenalty == null ? 0f : freqPenalty).prependBos(prependBos));
        generation.checkFiles(modelOptions.folder(), null);
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer transformer = modelOptions.load()) {
            TokenInput prompt = generation.readPrompt(transformer, modelOptions.folder(), options, manager);
            NDArray ids = prompt.ids();
            NDArray mask = prompt.attentionMask();
            int batch = (int) ids.getShape().get(0);
            int promptLength = (int) ids.getShape().get(1);
            checkContext(transformer, promptLength);
            generation.requireEndOfSequence(transformer);
            boolean stream = batch == 1 && transformer.hasTokenizer();
            Streamer streamer = stream ? new Streamer(transformer, out()) : null;
            if (stream) {
                out().print(generation.prompts != null ? generation.prompts.get(0)
                        : transformer.tokenizer().decode(ids.toLongArray()));
                out().flush();
            }
            long started = System.nanoTime();
            NDArray all;
            try {
                all = Generator.generate(transformer, ids, mask, options, streamer == null ? null
                        : (step, tokens) -> streamer.add(tokens[0]));
            } catch (StoppedException e) {
                if (stream) {
                    streamer.finish();
                    out().println();
                    out().flush();
                }
                throw new StoppedException(e.reason(), e.progress() + (generation.out == null ? ""
                        : "; " + generation.out + " was not written"));
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            NDArray output = filled(all, promptLength + generation.maxNewTokens, options, transformer);
            if (stream) {
                streamer.finish();
                out().println();
            } else {
                generation.printRows(transformer, output, mask, promptLength, true);
            }
            int produced = (int) all.getShape().get(1) - promptLength;
            err().printf(Locale.ROOT, "%d new token%s per row in %.2f s (%.1f tokens/s)%n", produced,
                    produced == 1 ? "" : "s", seconds, produced * batch / Math.max(seconds, 1e-9));
            generation.write(output, mask, "after all " + produced + " new tokens");
            out().flush();
            err().flush();
        }
        return 0;
    }

    private void checkUsage() {
        generation.check();
        if (generation.input != null && prependBos != null) {
            throw new ParameterException(spec.commandLine(), "--[no-]prepend-bos applies to --prompt only; --input IN"
                    + " is token ids already");
        }
        generation.requireSample("--freq-penalty", freqPenalty);
    }

    /**
     * Refuses, before anything runs, a --max-new-tokens that does not fit the model's context with the
     * prompt (2147483647 would otherwise ask for an array of 2^31 tokens).
     */
    private void checkContext(HookedTransformer transformer, int promptLength) {
        int nCtx = transformer.config().nCtx();
        int maxNewTokens = generation.maxNewTokens;
        if ((long) promptLength + maxNewTokens > nCtx) {
            throw new ParameterException(spec.commandLine(), promptLength > nCtx
                    ? "the prompt has " + promptLength + " tokens, more than the model's context (n_ctx " + nCtx + ")"
                    : "--max-new-tokens " + maxNewTokens + " and the prompt's " + promptLength + " tokens make "
                            + ((long) promptLength + maxNewTokens) + " positions, more than the model's context (n_ctx "
                            + nCtx + "): give --max-new-tokens " + (nCtx - promptLength) + " or fewer");
        }
    }

    /** The output widened to {@code width} columns with the EOS token, for rows that all stopped early. */
    private static NDArray filled(NDArray all, int width, GenerateOptions options, HookedTransformer model) {
        int have = (int) all.getShape().get(1);
        if (have >= width) {
            return all;
        }
        long eos = options.eosTokenIds().isEmpty() ? model.tokenizer().eosId() : options.eosTokenIds().get(0);
        int batch = (int) all.getShape().get(0);
        long[] flat = all.toLongArray();
        long[] wide = new long[batch * width];
        Arrays.fill(wide, eos);
        for (int b = 0; b < batch; b++) {
            System.arraycopy(flat, b * have, wide, b * width, have);
        }
        return all.getManager().create(wide, new Shape(batch, width));
    }

    /** Prints a single row's text as it grows, decoding all new tokens so that multi-byte characters come out whole. */
    private static final class Streamer {
        private final HookedTransformer model;
        private final PrintWriter out;
        private long[] tokens = new long[0];
        private int printed;

        Streamer(HookedTransformer model, PrintWriter out) {
            this.model = model;
            this.out = out;
        }

        void add(long token) {
            tokens = Arrays.copyOf(tokens, tokens.length + 1);
            tokens[tokens.length - 1] = token;
            String text = model.tokenizer().decode(tokens);
            // An incomplete UTF-8 sequence decodes to U+FFFD; wait for the rest of the character.
            print(text, text.endsWith("\uFFFD") ? text.lastIndexOf('\uFFFD') : text.length());
        }

        /** Prints what is left, complete or not. */
        void finish() {
            String text = model.tokenizer().decode(tokens);
            print(text, text.length());
        }

        private void print(String text, int ready) {
            if (ready > printed) {
                out.print(text.substring(printed, ready));
                out.flush();
                printed = ready;
            }
        }
    }
}
