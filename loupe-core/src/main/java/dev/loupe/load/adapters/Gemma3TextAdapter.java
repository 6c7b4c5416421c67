package dev.loupe.load.adapters;

import dev.loupe.config.AttentionType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.spi.HfConfig;

/**
 * Gemma 3's text model ({@code model_type} "gemma3_text"): Gemma 2's blocks with queries and keys
 * RMS-normalised per head over d_head ({@code q_norm}, {@code k_norm}, weights stored as {@code 1 + w})
 * before the rotary embedding, and a rotary base of their own on the sliding layers:
 * {@code rope_parameters.sliding_attention.rope_theta} and {@code rope_parameters.full_attention.rope_theta}
 * as transformers 5 writes them ({@code rope_local_base_freq} and {@code rope_theta} in transformers 4
 * files). No soft-caps unless config.json sets them. Rope scaling (the larger checkpoints' linear
 * scaling of the full-attention layers) is refused.
 */
public final class Gemma3TextAdapter extends Gemma2Adapter {
    /** Hugging Face's defaults: every sixth layer is global, local layers rotate with θ = 10000, global ones 1e6. */
    private static final int DEFAULT_SLIDING_WINDOW_PATTERN = 6;
    private static final double DEFAULT_LOCAL_BASE = 10_000;
    private static final double DEFAULT_GLOBAL_BASE = 1_000_000;

    @Override
    public String modelType() {
        return "gemma3_text";
    }

    @Override
    protected String architecture() {
        return "Gemma3ForCausalLM";
    }

    @Override
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {
        super.configure(c, builder);
        double global = c.ropeTheta("full_attention", c.ropeTheta(DEFAULT_GLOBAL_BASE));
        double local = c.ropeTheta("sliding_attention", c.positiveDbl("rope_local_base_freq", DEFAULT_LOCAL_BASE));
        builder.useQkNorm(true).rotaryBase(global).rotaryBaseLocal(local);
    }

    /** Without {@code layer_types}: every {@code sliding_window_pattern}-th layer is global, the rest slide. */
    @Override
    protected AttentionType defaultLayerType(HfConfig c, int layer) {
        int pattern = c.optionalInt("sliding_window_pattern")
                .orElse(c.optionalInt("_sliding_window_pattern").orElse(DEFAULT_SLIDING_WINDOW_PATTERN));
        return (layer + 1) % pattern == 0 ? AttentionType.GLOBAL : AttentionType.LOCAL;
    }
}
