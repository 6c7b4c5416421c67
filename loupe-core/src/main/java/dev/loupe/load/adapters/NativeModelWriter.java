package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import dev.loupe.AtomicFiles;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a model as a {@link NativeFormat} folder ({@code config.json} with TransformerLens's config
 * fields, {@code model.safetensors} with TransformerLens's parameter names), which
 * {@code HookedTransformer.fromPretrained(dir)} and {@code fromPretrainedNoProcessing(dir)} load back.
 * Each file is written under a temporary name and moved into place.
 */
public final class NativeModelWriter {
    private NativeModelWriter() {}

    /**
     * Writes {@code config} and {@code stateDict} into {@code dir}.
     *
     * @param stateDict every parameter {@code config} needs, by TransformerLens name (float32 or float16)
     * @param metadata strings stored in the safetensors header's {@code __metadata__} (e.g. how it was trained)
     */
    public static void write(Path dir, TransformerConfig config, Map<String, NDArray> stateDict,
            Map<String, String> metadata) {
        List<String> names = NativeFormat.parameterNames(config);
        Map<String, NDArray> ordered = new LinkedHashMap<>();
        for (String name : names) {
            NDArray value = stateDict.get(name);
            if (value == null) {
                throw new LoupeException("The state dict has no '" + name + "', which a model with this config needs");
            }
            ordered.put(name, value);
        }
        Map<String, String> withFormat = new LinkedHashMap<>(metadata);
        withFormat.putIfAbsent("format", "pt");
        SafetensorsWriter.write(dir.resolve("model.safetensors"), ordered, withFormat);
        writeAtomically(dir.resolve("config.json"), config.toJson() + "\n");
    }

    private static void writeAtomically(Path file, String text) {
        try {
            AtomicFiles.writeString(file, text);
        } catch (IOException e) {
            throw new CheckpointException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
