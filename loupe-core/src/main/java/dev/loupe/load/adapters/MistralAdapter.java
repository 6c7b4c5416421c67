package dev.loupe.load.adapters;

import dev.loupe.config.AttentionType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.spi.HfConfig;
import java.util.Collections;

/**
 * Mistral ({@code model_type} "mistral"): Llama with sliding-window attention in every layer (when
 * {@code sliding_window} is set). Phi-3 and Mixtral, whose Hugging Face models are Mistral's, extend it.
 */
public class MistralAdapter extends LlamaAdapter {
    @Override
    public String modelType() {
        return "mistral";
    }

    @Override
    protected String architecture() {
        return "MistralForCausalLM";
    }

    @Override
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {
        c.optionalInt("sliding_window").ifPresent(window -> builder.useLocalAttn(true).windowSize(window)
                .attnTypes(Collections.nCopies(c.requireInt("num_hidden_layers"), AttentionType.LOCAL)));
    }
}
