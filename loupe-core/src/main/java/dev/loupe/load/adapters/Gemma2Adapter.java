package dev.loupe.load.adapters;

import dev.loupe.config.AttentionType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.spi.HfConfig;
import java.util.List;

/**
 * Gemma 2 ({@code model_type} "gemma2"): Gemma with norms after attention and after the MLP as well
 * as before ({@code ln1_post}, {@code ln2_post}; Hugging Face's {@code post_attention_layernorm},
 * {@code pre_feedforward_layernorm}, {@code post_feedforward_layernorm}), attention scores scaled by
 * {@code query_pre_attn_scalar^-1/2} and soft-capped ({@code attn_logit_softcapping}), soft-capped
 * logits ({@code final_logit_softcapping}), and sliding-window layers as {@code layer_types} says.
 *
 * <p>Which layers slide follows Hugging Face: {@code layer_types}, or without it the even layers
 * (0, 2, …), as Gemma 2's config class defaults. TransformerLens's hard-coded Gemma 2 configs make
 * layer 0 global instead; the two agree only below the window (4096 tokens on the real models).
 */
public class Gemma2Adapter extends GemmaAdapter {
    /** Hugging Face's default window when config.json names none. */
    private static final int DEFAULT_SLIDING_WINDOW = 4096;

    @Override
    public String modelType() {
        return "gemma2";
    }

    @Override
    protected String architecture() {
        return "Gemma2ForCausalLM";
    }

    @Override
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {
        super.configure(c, builder);
        builder.useNormalizationBeforeAndAfter(true)
                .attnScoresSoftCap(c.dbl("attn_logit_softcapping", -1))
                .outputLogitsSoftCap(c.dbl("final_logit_softcapping", -1));
        c.optionalInt("query_pre_attn_scalar").ifPresent(scalar -> builder.attnScale(Math.sqrt(scalar)));
        int layers = c.requireInt("num_hidden_layers");
        List<AttentionType> types = c.layerTypes(layers, layer -> defaultLayerType(c, layer));
        if (types.contains(AttentionType.LOCAL)) {
            builder.useLocalAttn(true)
                    .windowSize(c.optionalInt("sliding_window").orElse(DEFAULT_SLIDING_WINDOW))
                    .attnTypes(types);
        }
    }

    /** The type of layer {@code layer} when config.json has no {@code layer_types}: even layers slide. */
    protected AttentionType defaultLayerType(HfConfig c, int layer) {
        return layer % 2 == 0 ? AttentionType.LOCAL : AttentionType.GLOBAL;
    }
}
