package dev.loupe.spark;

import dev.loupe.model.HookedTransformer;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The model a Spark job runs, as every executor loads it: a model folder on a path every node sees (a shared file
 * system, or the same path on each node), or a Hugging Face id read from each node's Hugging Face cache (set
 * {@code HF_HUB_OFFLINE=1} where nodes have no network), with or without TransformerLens's weight processing.
 *
 * @param model a model folder or a Hugging Face id
 * @param processed whether weights are processed as {@code HookedTransformer.fromPretrained} does by default
 */
public record ModelSpec(String model, boolean processed) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Loads the model in this JVM (a new instance; {@link ExecutorModels} keeps one per JVM). */
    public HookedTransformer load() {
        Path dir = Path.of(model);
        if (Files.isDirectory(dir)) {
            return processed ? HookedTransformer.fromPretrained(dir) : HookedTransformer.fromPretrainedNoProcessing(dir);
        }
        return processed ? HookedTransformer.fromPretrained(model) : HookedTransformer.fromPretrainedNoProcessing(model);
    }
}
