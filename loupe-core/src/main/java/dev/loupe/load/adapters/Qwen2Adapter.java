package dev.loupe.load.adapters;

import dev.loupe.load.spi.HfConfig;
import dev.loupe.config.TransformerConfig;
import java.util.Collections;

/**
 * Qwen2 ({@code model_type} "qwen2"): Llama with biases on q, k and v, no BOS by default, and a
 * sliding window only when {@code use_sliding_window} is set.
 */
public final class Qwen2Adapter extends LlamaAdapter {
    @Override
    public String modelType() {
        return "qwen2";
    }

    @Override
    protected String architecture() {
        return "Qwen2ForCausalLM";
    }

    @Override
    protected boolean defaultPrependBos() {
        return false;
    }

    @Override
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {
        if (c.bool("use_sliding_window", false)) {
            int layers = c.requireInt("num_hidden_layers");
            int fullAttentionLayers = Math.min(c.optionalInt("max_window_layers").orElse(layers), layers);
            java.util.List<String> types = new java.util.ArrayList<>(Collections.nCopies(layers, "local"));
            for (int l = 0; l < fullAttentionLayers; l++) {
                types.set(l, "global");
            }
            builder.useLocalAttn(true).windowSize(c.requireInt("sliding_window")).attnTypes(types);
        }
    }
}
