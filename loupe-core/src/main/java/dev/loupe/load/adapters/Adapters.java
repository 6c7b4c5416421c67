package dev.loupe.load.adapters;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.CheckpointException;
import dev.loupe.load.spi.ArchitectureAdapter;
import java.nio.file.Path;
import java.util.List;

/**
 * Every architecture Loupe loads: one adapter per Hugging Face {@code model_type}, and Loupe's own
 * {@link NativeFormat}. A new architecture is one more adapter in {@link #ALL}.
 */
public final class Adapters {
    private static final List<ArchitectureAdapter> ALL = List.of(new Gpt2Adapter(), new GptNeoXAdapter(),
            new LlamaAdapter(), new GptNeoAdapter(), new GptJAdapter(), new OptAdapter(), new MistralAdapter(),
            new Qwen2Adapter(), new GemmaAdapter(), new PhiAdapter(), new BloomAdapter(), new Gemma2Adapter(),
            new Gemma3TextAdapter(), new Qwen3Adapter(), new Olmo2Adapter(), new Phi3Adapter(),
            new MixtralAdapter());

    private static final ArchitectureAdapter NATIVE = new NativeFormat();

    private Adapters() {}

    /** The {@code model_type}s Loupe can load. */
    public static List<String> supportedModelTypes() {
        return ALL.stream().map(ArchitectureAdapter::modelType).toList();
    }

    /** The adapter for {@code modelType}, or an error listing the supported ones. */
    public static ArchitectureAdapter forModelType(String modelType) {
        return ALL.stream().filter(a -> a.modelType().equals(modelType)).findFirst()
                .orElseThrow(() -> new CheckpointException("Unsupported architecture: model_type '" + modelType
                        + "'. Supported: " + String.join(", ", supportedModelTypes()) + "."));
    }

    /**
     * The adapter for the parsed {@code config.json} of the folder {@code dir}: Loupe's native folders
     * (TransformerLens config keys, no {@code model_type}) need no adapter of their own.
     */
    public static ArchitectureAdapter forConfig(JsonNode json, Path dir) {
        return NativeFormat.describes(json) ? NATIVE : forModelType(modelType(json, dir));
    }

    private static String modelType(JsonNode json, Path dir) {
        JsonNode type = json.get("model_type");
        if (type == null || !type.isTextual()) {
            throw new CheckpointException(dir.resolve("config.json") + " has no \"model_type\"; Loupe needs it to pick "
                    + "the architecture (supported: " + String.join(", ", supportedModelTypes()) + "; or a Loupe native"
                    + " folder, whose config.json has TransformerLens's keys n_layers, d_model, ...)");
        }
        return type.asText();
    }
}
