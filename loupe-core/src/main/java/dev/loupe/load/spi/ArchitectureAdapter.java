package dev.loupe.load.spi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.config.TransformerConfig;
import dev.loupe.io.WeightSource;
import java.util.Map;

/**
 * Turns one Hugging Face {@code model_type} into Loupe's terms: its {@code config.json} into a
 * {@link TransformerConfig}, its weight names and layouts into TransformerLens's. Adding an
 * architecture means adding one adapter (and listing it in {@code dev.loupe.load.adapters.Adapters}).
 */
public interface ArchitectureAdapter {

    /** The {@code model_type} of {@code config.json} this adapter reads, e.g. {@code gpt2}. */
    String modelType();

    /**
     * @param hfConfig the parsed {@code config.json}
     * @param modelName a name for the model (its folder's name)
     */
    TransformerConfig config(JsonNode hfConfig, String modelName);

    /**
     * Reads every weight and converts it to TransformerLens's name and layout.
     *
     * @param weights the checkpoint's tensors by Hugging Face name
     * @param cfg the config {@link #config} made
     * @param manager owner of the converted tensors (the model's weights manager)
     * @return TransformerLens name to tensor
     */
    Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager);
}
