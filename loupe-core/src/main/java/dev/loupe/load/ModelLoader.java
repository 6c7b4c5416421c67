package dev.loupe.load;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.config.WeightDtype;
import dev.loupe.io.WeightSource;
import dev.loupe.load.adapters.Adapters;
import dev.loupe.load.spi.ArchitectureAdapter;
import dev.loupe.numeric.NativeHeap;
import dev.loupe.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a model folder through the adapter of its {@code model_type}: Hugging Face folders
 * ({@code config.json} + safetensors or PyTorch weights) and Loupe's native folders. Reading gives a
 * {@link LoadedModel}; {@code HookedTransformer} builds itself from it.
 */
public final class ModelLoader {
    /** A layer index in a Hugging Face tensor name: {@code h.3.}, {@code layers.3.}, {@code layer.3.}, {@code blocks.3.}. */
    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:h|layers|layer|blocks)\\.(\\d{1,9})\\.");
    /** How many unread tensors a message names. */
    private static final int NAMED = 5;

    private ModelLoader() {}

    /** Reads {@code dir/config.json}. */
    public static JsonNode readHfConfig(Path dir) {
        Path file = dir.resolve("config.json");
        if (Files.isRegularFile(dir)) {
            throw new CheckpointException(dir + " is a file, not a model folder; pass the folder that holds config.json"
                    + " and the weights");
        }
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException("Model folder " + dir + " does not exist");
        }
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException("No config.json in " + dir + "; a Hugging Face model folder needs config.json"
                    + " and model.safetensors");
        }
        try {
            JsonNode json = new ObjectMapper().readTree(file.toFile());
            if (json == null || !json.isObject()) {
                throw new CheckpointException(file + " is not a JSON object");
            }
            return json;
        } catch (IOException e) {
            throw new CheckpointException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** The config of the model folder {@code dir}, without reading its weights. */
    public static TransformerConfig config(Path dir) {
        JsonNode json = readHfConfig(dir);
        return Adapters.forConfig(json, dir).config(json, modelName(dir));
    }

    /**
     * Reads the model folder {@code dir}: its config, its weights as they are stored (converted to
     * TransformerLens's names and layouts, kept as {@code dtype}) and its tokenizer if it has one.
     *
     * @throws LoupeException before any weight is read, if the weights will not fit in the memory
     *     available ({@link MemoryCheck}: the message gives the sizes in float32 and 16-bit, and how to
     *     load in 16-bit or skip the check)
     */
    public static LoadedModel read(Path dir, WeightDtype dtype) {
        JsonNode json = readHfConfig(dir);
        ArchitectureAdapter adapter = Adapters.forConfig(json, dir);
        TransformerConfig cfg = adapter.config(json, modelName(dir));
        NDManager weights = NDManager.newBaseManager();
        try (WeightSource source = WeightSource.open(dir, dtype)) {
            MemoryCheck.check(dir, source, cfg, dtype);
            Map<String, NDArray> stateDict = adapter.stateDict(source, cfg, weights);
            refuseUnread(dir, adapter, cfg, source);
            NativeHeap.trim();
            Tokenizer tokenizer = Tokenizer.existsIn(dir) ? Tokenizer.fromModelDir(dir) : null;
            return new LoadedModel(cfg, stateDict, weights, tokenizer, float32Note(source));
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /**
     * The one line that says which tensors stay float32 in a float16 load, with the first value of each
     * that float16 cannot hold; empty when there are none.
     */
    static List<String> float32Note(WeightSource source) {
        Map<String, Float> kept = source.keptInFloat32();
        if (kept.isEmpty()) {
            return List.of();
        }
        List<String> named = kept.entrySet().stream().limit(NAMED).map(e -> e.getKey() + " (" + e.getValue() + ")").toList();
        return List.of("kept " + kept.size() + " of " + source.names().size() + " tensors in float32, as float16 cannot"
                + " hold them (a value would become infinite, or 0 among values all below its normal range): "
                + String.join(", ", named)
                + (kept.size() > NAMED ? " and " + (kept.size() - NAMED) + " more" : ""));
    }

    /**
     * Refuses a checkpoint with tensors the adapter did not read for this config, other than the
     * adapter's known unused buffers: a config with fewer layers (or other parts) than its weights
     * would otherwise load silently and compute another model.
     */
    static void refuseUnread(Path dir, ArchitectureAdapter adapter, TransformerConfig cfg, WeightSource source) {
        List<String> unread = source.unread().stream().filter(name -> !adapter.unusedBuffer(name)).toList();
        if (unread.isEmpty()) {
            return;
        }
        int layers = -1;
        for (String name : unread) {
            Matcher m = LAYER.matcher(name);
            if (m.find()) {
                layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
            }
        }
        String cause = layers > cfg.nLayers()
                ? "config.json says the model has " + cfg.nLayers() + " layers, but the checkpoint has weights for at least "
                        + layers + " layers; fix the layer count in config.json"
                : "config.json does not describe these weights (another size, variant or architecture?)";
        throw new CheckpointException("The checkpoint in " + dir + " has " + unread.size() + " tensor"
                + (unread.size() == 1 ? "" : "s") + " that the " + adapter.modelType() + " config does not use: "
                + String.join(", ", unread.subList(0, Math.min(NAMED, unread.size())))
                + (unread.size() > NAMED ? " and " + (unread.size() - NAMED) + " more" : "") + ". " + cause);
    }

    static String modelName(Path dir) {
        Path absolute = dir.toAbsolutePath().normalize();
        Path snapshots = absolute.getParent();
        // A Hugging Face cache snapshot (models--org--name/snapshots/<commit>) takes its repository's
        // name, as TransformerLens names a model by the last part of its official name.
        if (snapshots != null && snapshots.getFileName() != null && snapshots.getParent() != null
                && snapshots.getFileName().toString().equals("snapshots")
                && snapshots.getParent().getFileName().toString().startsWith("models--")) {
            String repoFolder = snapshots.getParent().getFileName().toString();
            return repoFolder.substring(repoFolder.lastIndexOf("--") + 2);
        }
        Path name = absolute.getFileName();
        return name == null ? "model" : name.toString();
    }
}
