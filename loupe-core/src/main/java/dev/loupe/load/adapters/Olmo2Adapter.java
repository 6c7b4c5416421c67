package dev.loupe.load.adapters;

import dev.loupe.config.TransformerConfig;
import dev.loupe.load.spi.HfConfig;

/**
 * OLMo 2 ({@code model_type} "olmo2"): Llama with norms only after attention and after the MLP
 * ({@code resid_mid = resid_pre + ln1_post(attn(resid_pre))}, {@code resid_post = resid_mid +
 * ln2_post(mlp(resid_mid))}; Hugging Face's {@code post_attention_layernorm} and
 * {@code post_feedforward_layernorm}), and queries and keys RMS-normalised over each position's whole
 * projection ({@code q_norm} [n_heads·d_head], {@code k_norm} [n_key_value_heads·d_head]) before the
 * rotary embedding.
 *
 * <p>TransformerLens has no OLMo 2, so these names are Loupe's: {@code use_normalization_after_only}
 * and {@code qk_norm_across_heads} in the config, {@code blocks.L.ln1_post.*}, {@code blocks.L.ln2_post.*},
 * {@code blocks.L.attn.q_norm.*} and {@code blocks.L.attn.k_norm.*} for the hooks and parameters, in
 * the places Gemma's and Qwen3's have them in TransformerLens. No BOS by default: OLMo 2's config has
 * no {@code bos_token_id} and its tokenizer adds none.
 */
public final class Olmo2Adapter extends LlamaAdapter {
    @Override
    public String modelType() {
        return "olmo2";
    }

    @Override
    protected String architecture() {
        return "Olmo2ForCausalLM";
    }

    @Override
    protected boolean defaultPrependBos() {
        return false;
    }

    @Override
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {
        builder.useNormalizationAfterOnly(true).useQkNorm(true).qkNormAcrossHeads(true);
    }
}
