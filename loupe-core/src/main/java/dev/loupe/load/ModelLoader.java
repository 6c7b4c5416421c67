package dev.loupe.load;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.CheckpointException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.config.WeightDtype;
import dev.loupe.io.WeightSource;
import dev.loupe.load.adapters.Adapters;
import dev.loupe.load.spi.ArchitectureAdapter;
import dev.loupe.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads a model folder through the adapter of its {@code model_type}: Hugging Face folders
 * ({@code config.json} + safetensors or PyTorch weights) and Loupe's native folders. Reading gives a
 * {@link LoadedModel}; {@code HookedTransformer} builds itself from it.
 */
public final class ModelLoader {
    private ModelLoader() {}

    /** Reads {@code dir/config.json}. */
    public static JsonNode readHfConfig(Path dir) {
        Path file = dir.resolve("config.json");
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
     */
    public static LoadedModel read(Path dir, WeightDtype dtype) {
        JsonNode json = readHfConfig(dir);
        ArchitectureAdapter adapter = Adapters.forConfig(json, dir);
        TransformerConfig cfg = adapter.config(json, modelName(dir));
        NDManager weights = NDManager.newBaseManager();
        try (WeightSource source = WeightSource.open(dir, dtype)) {
            Map<String, NDArray> stateDict = adapter.stateDict(source, cfg, weights);
            Tokenizer tokenizer = Tokenizer.existsIn(dir) ? Tokenizer.fromModelDir(dir) : null;
            return new LoadedModel(cfg, stateDict, weights, tokenizer);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    private static String modelName(Path dir) {        Path absolute = dir.toAbsolutePath().normalize();
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
