package dev.loupe.load;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.HookedTransformer;
import dev.loupe.model.TransformerConfig;
import dev.loupe.process.ProcessOptions;
import dev.loupe.process.ProcessedWeights;
import dev.loupe.process.WeightProcessing;
import dev.loupe.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Loads a Hugging Face model folder through the adapter of its {@code model_type}. */
public final class ModelLoader {
    private static final List<ArchitectureAdapter> ADAPTERS = List.of(new Gpt2Adapter(), new GptNeoXAdapter(),
            new LlamaAdapter(), new GptNeoAdapter(), new GptJAdapter(), new OptAdapter(), new MistralAdapter(),
            new Qwen2Adapter(), new GemmaAdapter(), new PhiAdapter(), new BloomAdapter());

    private static final ArchitectureAdapter NATIVE = new NativeFormat();

    private ModelLoader() {}

    /** The {@code model_type}s Loupe can load. */
    public static List<String> supportedModelTypes() {
        return ADAPTERS.stream().map(ArchitectureAdapter::modelType).toList();
    }

    /** The adapter for {@code modelType}, or an error listing the supported ones. */
    public static ArchitectureAdapter adapter(String modelType) {
        return ADAPTERS.stream().filter(a -> a.modelType().equals(modelType)).findFirst()
                .orElseThrow(() -> new CheckpointException("Unsupported architecture: model_type '" + modelType
                        + "'. Supported: " + String.join(", ", supportedModelTypes()) + "."));
    }

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
        return adapterFor(json, dir).config(json, modelName(dir));
    }

    /** Loads the model folder {@code dir} with its weights as they are (no processing), in float32. */
    public static HookedTransformer load(Path dir) {
        return load(dir, WeightDtype.FLOAT32);
    }

    /** Loads the model folder {@code dir} with its weights as they are (no processing), kept as {@code dtype}. */
    public static HookedTransformer load(Path dir, WeightDtype dtype) {
        return load(dir, dtype, ProcessOptions.none());
    }

    /**
     * Loads the model folder {@code dir}, keeping its weights as {@code dtype} and processing them
     * as {@code processing} says (TransformerLens's {@code from_pretrained}).
     */
    public static HookedTransformer load(Path dir, WeightDtype dtype, ProcessOptions processing) {
        JsonNode json = readHfConfig(dir);
        ArchitectureAdapter adapter = adapterFor(json, dir);
        TransformerConfig cfg = adapter.config(json, modelName(dir));
        NDManager weights = NDManager.newBaseManager();
        try (WeightSource source = WeightSource.open(dir, dtype)) {
            ProcessedWeights loaded = new ProcessedWeights(adapter.stateDict(source, cfg, weights), cfg);
            ProcessedWeights processed = WeightProcessing.process(loaded, processing);
            HookedTransformer model = new HookedTransformer(processed.config(), processed.stateDict(), weights);
            if (Tokenizer.existsIn(dir)) {
                model.setTokenizer(Tokenizer.fromModelDir(dir));
            }
            return model;
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** Loupe's native folders (TransformerLens config keys, no model_type) need no adapter of their own. */
    private static ArchitectureAdapter adapterFor(JsonNode json, Path dir) {
        return NativeFormat.describes(json) ? NATIVE : adapter(modelType(json, dir));
    }

    private static String modelType(JsonNode json, Path dir) {
        JsonNode type = json.get("model_type");
        if (type == null || !type.isTextual()) {
            throw new CheckpointException(dir.resolve("config.json") + " has no \"model_type\"; Loupe needs it to pick "
                    + "the architecture (supported: " + String.join(", ", supportedModelTypes()) + "; or a Loupe native folder,"
                    + " whose config.json has TransformerLens's keys n_layers, d_model, ...)");
        }
        return type.asText();
    }

    private static String modelName(Path dir) {
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
