package dev.loupe.load.spi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.config.TransformerConfig;
import dev.loupe.io.WeightSource;
import java.util.List;
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

    /**
     * Whether the checkpoint tensor {@code name} (as stored) may go unread: a buffer that Hugging Face
     * computes rather than learns and that older checkpoints saved, such as GPT-2's causal mask
     * {@code h.0.attn.bias} and {@code attn.masked_bias}, GPT-Neo's {@code attn.attention.bias},
     * GPT-NeoX's {@code attention.bias} and {@code attention.masked_bias}, and rotary
     * {@code rotary_emb.inv_freq}. Every other tensor the adapter leaves unread is refused by the
     * loader, since the config does not account for it.
     */
    default boolean unusedBuffer(String name) {
        return KNOWN_BUFFERS.stream().anyMatch(buffer -> name.equals(buffer) || name.endsWith("." + buffer));
    }

    /** The buffers {@link #unusedBuffer} allows by default: the last parts of their names. */
    List<String> KNOWN_BUFFERS = java.util.List.of("attn.bias", "attn.masked_bias", "attention.bias",
            "attention.masked_bias", "rotary_emb.inv_freq", "inv_freq");
}
