package dev.loupe.load.adapters;

import dev.loupe.config.TransformerConfig;
import dev.loupe.load.spi.HfConfig;

/**
 * Qwen3 ({@code model_type} "qwen3"): Qwen2 without q/k/v biases, with queries and keys
 * RMS-normalised per head over d_head ({@code q_norm}, {@code k_norm}, plain {@code w}) before the
 * rotary embedding, and a {@code head_dim} read from config.json that need not be
 * {@code d_model / n_heads}. No BOS by default, as TransformerLens.
 */
public final class Qwen3Adapter extends Qwen2Adapter {
    @Override
    public String modelType() {
        return "qwen3";
    }

    @Override
    protected String architecture() {
        return "Qwen3ForCausalLM";
    }

    @Override
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {
        super.configure(c, builder);
        builder.useQkNorm(true);
    }
}
