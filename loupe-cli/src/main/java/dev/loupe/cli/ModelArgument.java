package dev.loupe.cli;

import dev.loupe.hub.ModelResolver;
import java.nio.file.Path;

/**
 * The {@code --model} value every command takes: a model folder, a TransformerLens name or alias, or
 * a Hugging Face repository id, turned into a model folder (downloading into the Hugging Face cache
 * when needed). The Hub settings come from the environment as Python's huggingface_hub reads it; a
 * Java system property of the same name ({@code -DHF_ENDPOINT=...}) wins over the environment
 * variable, which is how the CLI's tests point it at a Hub served on loopback.
 */
final class ModelArgument {
    /** The option's value label in the help. */
    static final String LABEL = "MODEL";

    /** The option's description in the help. */
    static final String DESCRIPTION = "A model folder (config.json + model.safetensors), a TransformerLens name or"
            + " alias (gpt2, gpt2-small, pythia-70m), or a Hugging Face repository id (org/name), downloaded once"
            + " into the Hugging Face cache shared with Python (HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, HF_TOKEN,"
            + " HF_ENDPOINT are read as huggingface_hub reads them). A folder that exists wins.";

    private ModelArgument() {}

    /** The model folder {@code model} names. */
    static Path folder(String model) {
        return ModelResolver.fromEnvironment().resolve(model);
    }
}
