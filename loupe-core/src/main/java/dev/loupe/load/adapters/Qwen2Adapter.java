package dev.loupe.load.adapters;

import dev.loupe.config.AttentionType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.spi.HfConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Qwen2 ({@code model_type} "qwen2"): Llama with biases on q, k and v, no BOS by default, and a
 * sliding window only when {@code use_sliding_window} is set. Qwen3 extends it ({@link Qwen3Adapter}).
 */
public class Qwen2Adapter extends LlamaAdapter {
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
            int fullAttentionLayers = Math.min(c.countOr("max_window_layers", layers), layers);
            List<AttentionType> types = new ArrayList<>(Collections.nCopies(layers, AttentionType.LOCAL));
            for (int l = 0; l < fullAttentionLayers; l++) {
                types.set(l, AttentionType.GLOBAL);
            }
            builder.useLocalAttn(true).windowSize(c.requireInt("sliding_window")).attnTypes(types);
        }
    }
}
