package dev.loupe.cli.command;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.cli.support.ModelOptions;
import dev.loupe.cli.support.OutputCheck;
import dev.loupe.cli.support.TokenInput;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.tokenize.PaddingSide;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.tokenize.TokenBatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

/** {@code loupe cache}: run a model on texts or token ids and write its activations to a safetensors file. */
@Command(
        name = "cache",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Run a model on texts or token ids and write every activation to a safetensors file.",
        description = {
            "",
            "This is how Python users take Loupe's activations into numpy:",
            "  from safetensors.numpy import load_file",
            "  acts = load_file(\"out.safetensors\")",
            "  acts[\"blocks.0.attn.hook_pattern\"]   # float32 [batch, head, query, key]",
            "",
            "The input is --prompt TEXT, one text per flag and repeated for a batch, or --input IN.",
            "",
            "Texts are tokenized by the model folder's tokenizer (tokenizer.json, or vocab.json + merges.txt)"
                    + " as TransformerLens's to_tokens does: a BOS token in front if the model wants one"
                    + " (--no-prepend-bos: never), and texts of different lengths padded on the right"
                    + " (--padding-side left: on the left) and masked, so that padding changes nothing at the real"
                    + " positions.",
            "",
            "IN is a safetensors file holding the int64 tensor input_ids [batch, pos] and, optionally,"
                    + " attention_mask [batch, pos] (int64 or bool; 1 = real token, 0 = padding).",
            "",
            "OUT gets every cached activation as float32 under its TransformerLens name"
                    + " (blocks.0.attn.hook_pattern, ...; integer ones such as hook_tokens are converted to"
                    + " float32), plus logits [batch, pos, d_vocab] (float32), input_ids (int64), and"
                    + " attention_mask (int64) if IN has one or the prompts were padded. OUT is written"
                    + " atomically: it is complete or absent, never half-written.",
            "",
            "Weights are processed by default, as TransformerLens's from_pretrained does (fold_ln, centring"
                    + " the weights that write to the residual stream, centring the unembedding, folding value"
                    + " biases), so activations match TransformerLens's. Processed logits are centred over the"
                    + " vocabulary, as TransformerLens's are, so they differ from Hugging Face's by a per-position"
                    + " constant (log-probs are the same). --no-processing caches the model as it is: its logits"
                    + " then equal Hugging Face's.",
            ""
        },
        footer = {
            "",
            "Example: two texts (padded, so OUT gets attention_mask too), block 0 only.",
            "  loupe cache --model testdata/models/gpt2-tok \\",
            "    --prompt 'Hello, world!' --prompt 'The quick fox' \\",
            "    --out out.safetensors --no-processing --hooks 'blocks\\.0\\..*'",
            "",
            "Example: the input_ids of a safetensors file, block 0 only.",
            "  loupe cache --model testdata/models/gpt2 \\",
            "    --input testdata/models/gpt2/reference.safetensors \\",
            "    --out out.safetensors --no-processing --hooks 'blocks\\.0\\..*'",
            "",
            "Such a file, made in Python:",
            "  import numpy as np",
            "  from safetensors.numpy import save_file",
            "  ids = np.array([[50256, 464, 2068]], dtype=np.int64)",
            "  save_file({\"input_ids\": ids}, \"in.safetensors\")"
        })
public final class CacheCommand extends LoupeCommand {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "A text to run; repeat the flag for a batch (needs the model's tokenizer).")
    List<String> prompts;

    @Option(names = "--input", paramLabel = "IN",
            description = "Or: safetensors file with input_ids [batch, pos] (int64) and optionally attention_mask.")
    Path input;

    @Option(names = "--padding-side", paramLabel = "left|right", converter = PaddingSideConverter.class,
            description = "Where prompts of different lengths are padded (default: right).")
    PaddingSide paddingSide;

    @Option(names = "--no-prepend-bos",
            description = "Do not put the BOS token in front of each prompt (default: as the model's"
                    + " default_prepend_bos says; GPT-2 prepends it).")
    boolean noPrependBos;

    @Option(names = "--out", required = true, paramLabel = "OUT",
            description = "safetensors file to write (replaced if it exists).")
    Path out;

    @Option(names = "--hooks", paramLabel = "REGEX",
            description = "Cache only the hook points whose WHOLE name matches this Java regular expression,"
                    + " e.g. 'blocks\\.0\\..*' or '.*hook_pattern' ('^$' caches none). Default: every hook"
                    + " point. `loupe hooks --model DIR` lists the names.")
    String hooks;

    @Override
    protected int execute() throws IOException {
        checkUsage();
        Pattern pattern = hooks == null ? null : Pattern.compile(hooks);
        OutputCheck.of(spec).modelFolder(modelOptions.folder()).file("--input", input).refuseFile("--out", out);
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray inputIds = null;
            NDArray attentionMask = null;
            if (input != null) {
                TokenInput given = TokenInput.read(input, manager);
                inputIds = given.ids();
                attentionMask = given.attentionMask();
            }
            try (HookedTransformer transformer = modelOptions.load()) {
                if (inputIds == null) {
                    TokenBatch batch = tokenize(transformer);
                    inputIds = batch.idsArray(manager);
                    attentionMask = batch.isPadded() ? batch.maskArray(manager) : null;
                }
                CacheOptions options = (pattern == null ? CacheOptions.all() : CacheOptions.matching(hooks))
                        .withForward(ForwardOptions.builder().attentionMask(attentionMask).build());
                safePoint("before the forward pass; nothing was written");
                Map<String, NDArray> tensors = new LinkedHashMap<>();
                int activations;
                try (ActivationCache cache = transformer.runWithCache(inputIds, options)) {
                    for (Map.Entry<String, NDArray> entry : cache.asMap().entrySet()) {
                        tensors.put(entry.getKey(), entry.getValue().toType(DataType.FLOAT32, false));
                    }
                    activations = tensors.size();
                    tensors.put("logits", cache.logits().toType(DataType.FLOAT32, false));
                    tensors.put("input_ids", inputIds);
                    if (attentionMask != null) {
                        tensors.put("attention_mask", attentionMask.toType(DataType.INT64, false));
                    }
                    safePoint("after the forward pass, before writing " + out + "; nothing was written");
                    SafetensorsWriter.write(out, tensors);
                }
                long bytes = Files.size(out);
                String none = activations > 0 || pattern == null ? ""
                        : " (--hooks '" + hooks + "' matches none of the model's " + transformer.hookNames().size()
                                + " hook points)";
                out().printf(Locale.ROOT, "Wrote %d activation%s%s, logits %s and input_ids %s%s to %s (%s)%n", activations,
                        activations == 1 ? "" : "s", none, shape(tensors.get("logits").getShape().getShape()),
                        shape(inputIds.getShape().getShape()), attentionMask == null ? "" : ", attention_mask",
                        out, humanBytes(bytes));
                out().flush();
            }
        }
        return 0;
    }

    /** {@code left} or {@code right}, any case. */
    static final class PaddingSideConverter implements ITypeConverter<PaddingSide> {
        @Override
        public PaddingSide convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "left" -> PaddingSide.LEFT;
                case "right" -> PaddingSide.RIGHT;
                default -> throw new TypeConversionException("expected left or right, got '" + value + "'");
            };
        }
    }

    /** Exactly one of --prompt and --input; the tokenizer options only with --prompt. */
    private void checkUsage() {
        if (input != null && prompts != null) {
            throw new ParameterException(spec.commandLine(), "--prompt and --input are mutually exclusive: give texts"
                    + " (--prompt TEXT, repeated for a batch) or token ids (--input IN), not both");
        }
        if (input == null && prompts == null) {
            throw new ParameterException(spec.commandLine(), "Missing the input: give --prompt TEXT (repeated for a"
                    + " batch) or --input IN (a safetensors file with input_ids)");
        }
        if (input != null && (paddingSide != null || noPrependBos)) {
            throw new ParameterException(spec.commandLine(), (paddingSide != null ? "--padding-side" : "--no-prepend-bos")
                    + " applies to --prompt only; --input IN is token ids already");
        }
    }

    /** The prompts as one batch, with the model's tokenizer. */
    private TokenBatch tokenize(HookedTransformer transformer) {
        requireTokenizer(transformer, modelOptions.folder(), "--prompt", "--input IN with token ids");
        TextOptions options = TextOptions.defaults()
                .withPaddingSide(paddingSide == null ? PaddingSide.RIGHT : paddingSide);
        if (noPrependBos) {
            options = options.withPrependBos(false);
        }
        TokenBatch batch = transformer.toTokens(prompts, options);
        for (int i = 0; i < batch.lengths().length; i++) {
            if (batch.lengths()[i] == 0) {
                throw new LoupeException("--prompt #" + (i + 1) + " (\"" + prompts.get(i) + "\") has no tokens;"
                        + " give it some text" + (noPrependBos ? " or drop --no-prepend-bos" : ""));
            }
        }
        return batch;
    }

    private static String humanBytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        if (bytes < 1024L * 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
        }
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    }
}
