package dev.loupe.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.load.safetensors.SafetensorsFile;
import dev.loupe.load.safetensors.SafetensorsWriter;
import dev.loupe.load.safetensors.TensorInfo;
import dev.loupe.model.ForwardOptions;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code loupe cache}: run a model on token ids and write its activations to a safetensors file. */
@Command(
        name = "cache",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Run a model on token ids and write every activation to a safetensors file.",
        description = {
            "",
            "This is how Python users take Loupe's activations into numpy:",
            "  from safetensors.numpy import load_file",
            "  acts = load_file(\"out.safetensors\")",
            "  acts[\"blocks.0.attn.hook_pattern\"]   # float32 [batch, head, query, key]",
            "",
            "IN is a safetensors file holding the int64 tensor input_ids [batch, pos] and, optionally,"
                    + " attention_mask [batch, pos] (int64 or bool; 1 = real token, 0 = padding).",
            "",
            "OUT gets every cached activation as float32 under its TransformerLens name"
                    + " (blocks.0.attn.hook_pattern, ...; integer ones such as hook_tokens are converted to"
                    + " float32), plus logits [batch, pos, d_vocab] (float32), input_ids, and attention_mask"
                    + " (int64) if given. OUT is written atomically: it is complete or absent, never half-written.",
            "",
            "Weights: TransformerLens processes weights by default (fold_ln, centring the weights that"
                    + " write to the residual stream, centring the unembedding). Processed logits are centred"
                    + " over the vocabulary, as TransformerLens's are, so they differ from Hugging Face's by a"
                    + " per-position constant. Loupe does not implement weight processing yet, so this command"
                    + " needs --no-processing, which caches the model as it is: its logits then equal"
                    + " Hugging Face's.",
            ""
        },
        footer = {
            "",
            "Example: make IN in Python, then cache block 0 only.",
            "  import numpy as np",
            "  from safetensors.numpy import save_file",
            "  ids = np.array([[50256, 464, 2068]], dtype=np.int64)",
            "  save_file({\"input_ids\": ids}, \"in.safetensors\")",
            "",
            "  loupe cache --model DIR --input in.safetensors --out out.safetensors \\",
            "    --no-processing --hooks 'blocks\\.0\\..*'"
        })
final class CacheCommand extends LoupeCommand {
    static final String NOT_PROCESSED = "weight processing is not implemented yet; pass --no-processing to cache"
            + " the unprocessed model (logits then equal Hugging Face's)";

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face model folder (config.json + model.safetensors).")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "IN",
            description = "safetensors file with input_ids [batch, pos] (int64) and optionally attention_mask.")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "OUT",
            description = "safetensors file to write (replaced if it exists).")
    Path out;

    @Option(names = "--no-processing",
            description = "Use the weights as they are (required for now; see above).")
    boolean noProcessing;

    @Option(names = "--hooks", paramLabel = "REGEX",
            description = "Cache only the hook points whose WHOLE name matches this Java regular expression,"
                    + " e.g. 'blocks\\.0\\..*' or '.*hook_pattern' ('^$' caches none). Default: every hook"
                    + " point. `loupe hooks --model DIR` lists the names.")
    String hooks;

    @Override
    int execute() throws IOException {
        if (!noProcessing) {
            return fail(NOT_PROCESSED);
        }
        Pattern pattern = hooks == null ? null : Pattern.compile(hooks);
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray inputIds;
            NDArray attentionMask = null;
            try (SafetensorsFile in = SafetensorsFile.open(input)) {
                inputIds = loadInputIds(in, manager);
                if (in.contains("attention_mask")) {
                    attentionMask = loadMask(in, inputIds, manager);
                }
            }
            try (HookedTransformer transformer = HookedTransformer.fromPretrainedNoProcessing(model)) {
                CacheOptions options = (pattern == null ? CacheOptions.all() : CacheOptions.matching(hooks))
                        .withForward(ForwardOptions.builder().attentionMask(attentionMask).build());
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

    private NDArray loadInputIds(SafetensorsFile in, NDManager manager) {
        if (!in.contains("input_ids")) {
            throw new LoupeException(input + " has no tensor 'input_ids' (it holds: "
                    + (in.names().isEmpty() ? "nothing" : String.join(", ", in.names()))
                    + "); write the token ids as int64 input_ids [batch, pos]");
        }
        TensorInfo info = in.info("input_ids");
        if (!info.dtype().equals("I64")) {
            throw new LoupeException(input + ": input_ids has dtype " + info.dtype()
                    + " but must be int64 (I64); in numpy use .astype(np.int64)");
        }
        if (info.shape().length != 2) {
            throw new LoupeException(input + ": input_ids has shape " + shape(info.shape())
                    + " but must be [batch, pos]; in numpy use ids[None, :] for a single sequence");
        }
        if (info.shape()[0] == 0 || info.shape()[1] == 0) {
            throw new LoupeException(input + ": input_ids has shape " + shape(info.shape())
                    + "; it needs at least one sequence of at least one token");
        }
        return in.load("input_ids", manager);
    }

    private NDArray loadMask(SafetensorsFile in, NDArray inputIds, NDManager manager) {
        TensorInfo info = in.info("attention_mask");
        if (!info.dtype().equals("I64") && !info.dtype().equals("BOOL")) {
            throw new LoupeException(input + ": attention_mask has dtype " + info.dtype()
                    + " but must be int64 (I64) or bool (BOOL)");
        }
        long[] ids = inputIds.getShape().getShape();
        if (!Arrays.equals(info.shape(), ids)) {
            throw new LoupeException(input + ": attention_mask has shape " + shape(info.shape())
                    + " but input_ids has shape " + shape(ids) + "; they must match");
        }
        return in.load("attention_mask", manager);
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
