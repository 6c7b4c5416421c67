package dev.loupe.load;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.config.TransformerConfig;
import dev.loupe.tokenize.Tokenizer;
import java.util.List;
import java.util.Map;

/**
 * What {@link ModelLoader} read from a model folder, before any model is built from it: the config,
 * the parameters under TransformerLens's names ({@code embed.W_E} [d_vocab, d_model],
 * {@code blocks.0.attn.W_Q} [n_heads, d_model, d_head], …) owned by {@code weights}, and the
 * tokenizer if the folder has one. Whoever builds the model takes over {@code weights} and the
 * tokenizer; {@link #close()} frees them if nobody did.
 *
 * @param tokenizer the folder's tokenizer, or null if it has none
 * @param warnings what the load did that its caller should be told, one line each (a float16 load that
 *     kept tensors in float32 because float16 cannot hold their values); usually empty
 */
public record LoadedModel(TransformerConfig config, Map<String, NDArray> stateDict, NDManager weights,
        Tokenizer tokenizer, List<String> warnings) implements AutoCloseable {
    public LoadedModel {
        warnings = List.copyOf(warnings);
    }

    /** Frees the weights and the tokenizer (only for a load that is abandoned). */
    @Override
    public void close() {
        weights.close();
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
