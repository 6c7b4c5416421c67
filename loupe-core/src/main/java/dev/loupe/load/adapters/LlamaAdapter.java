package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.config.ActivationFunctionType;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.PositionalEmbeddingType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.io.WeightSource;
import dev.loupe.load.spi.ArchitectureAdapter;
import dev.loupe.load.spi.HfConfig;
import dev.loupe.load.spi.HfWeights;
import java.util.Map;

/**
 * Llama ({@code model_type} "llama"): RMSNorm, gated SiLU MLP, rotary embeddings with
 * {@code rope_theta} (and Llama 3's scaling), grouped-query attention. Mistral, Qwen2, Qwen3, Gemma
 * (2, 3) and OLMo 2 are the same architecture with small differences, so their adapters extend this
 * one; the config says which norms and q/k norms the checkpoint has.
 */
public class LlamaAdapter implements ArchitectureAdapter {

    @Override
    public String modelType() {
        return "llama";
    }

    /** The Hugging Face class name, for {@code original_architecture}. */
    protected String architecture() {
        return "LlamaForCausalLM";
    }

    /** Whether text gets a BOS token in front by default (TransformerLens's {@code default_prepend_bos}). */
    protected boolean defaultPrependBos() {
        return true;
    }

    /** Adds what this member of the family needs beyond Llama. */
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {}

    @Override
    public TransformerConfig config(JsonNode hf, String modelName) {
        HfConfig c = new HfConfig(hf);
        int dModel = c.requireInt("hidden_size");
        int nHeads = c.requireInt("num_attention_heads");
        int dHead = c.optionalInt("head_dim")
                .orElseGet(() -> HfConfig.headDim("hidden_size", dModel, "num_attention_heads", nHeads));
        TransformerConfig.Builder builder = TransformerConfig.builder()
                .nLayers(c.requireInt("num_hidden_layers"))
                .dModel(dModel)
                .nCtx(c.requireInt("max_position_embeddings"))
                .nHeads(nHeads)
                .dHead(dHead)
                .nKeyValueHeads(c.groupedKvHeads(nHeads))
                .dMlp(c.requireInt("intermediate_size"))
                .dVocab(c.requireInt("vocab_size"))
                .actFn(ActivationFunctionType.fromJson(c.string("hidden_act", "silu")))
                .eps(c.positiveDbl("rms_norm_eps", 1e-6))
                .normalizationType(NormalizationType.RMS)
                .finalRms(true)
                .gatedMlp(true)
                .positionalEmbeddingType(PositionalEmbeddingType.ROTARY)
                .rotaryDim(dHead)
                .rotaryBase(c.ropeTheta(10000))
                .defaultPrependBos(defaultPrependBos())
                .modelName(modelName)
                .originalArchitecture(architecture());
        c.applyRopeScaling(builder);
        configure(c, builder);
        return builder.build();
    }

    @Override
    public Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager) {
        HfWeights w = new HfWeights(weights, "model.", manager);
        NDArray embedding = w.raw("embed_tokens.weight");
        putEmbedding(w, embedding, cfg);
        for (int l = 0; l < cfg.nLayers(); l++) {
            String hf = "layers." + l + ".";
            // Llama's post_attention_layernorm is the norm before the MLP (ln2); with norms after the
            // sub-layers too (Gemma 2, 3) it is the one after attention (ln1_post), and OLMo 2 has only those.
            if (cfg.hasPreNorms()) {
                w.put(ActName.block(l, "ln1.w"), norm(w.raw(hf + "input_layernorm.weight")));
            }
            if (cfg.hasPostNorms()) {
                w.put(ActName.block(l, "ln1_post.w"), norm(w.raw(hf + "post_attention_layernorm.weight")));
            }
            if (cfg.hasPreNorms()) {
                w.put(ActName.block(l, "ln2.w"), norm(w.raw(hf + (cfg.hasPostNorms() ? "pre_feedforward_layernorm.weight"
                        : "post_attention_layernorm.weight"))));
            }
            if (cfg.hasPostNorms()) {
                w.put(ActName.block(l, "ln2_post.w"), norm(w.raw(hf + "post_feedforward_layernorm.weight")));
            }
            attentionWeights(w, hf, l, cfg);
            mlpWeights(w, hf, l, cfg);
        }
        w.put("ln_final.w", norm(w.raw("norm.weight")));
        w.put("unembed.W_U", w.unembedding("lm_head.weight", embedding));
        w.put("unembed.b_U", w.zeros(cfg.dVocabOut()));
        return w.stateDict();
    }

    /** Layer {@code l}'s attention weights, from the Hugging Face names under {@code hf} ({@code layers.l.}). */
    protected void attentionWeights(HfWeights w, String hf, int l, TransformerConfig cfg) {
        int nHeads = cfg.nHeads();
        int kvHeads = cfg.kvHeads();
        int dHead = cfg.dHead();
        String kv = cfg.groupedQueryAttention() ? "attn._" : "attn.";
        w.put(ActName.block(l, "attn.W_Q"), w.intoHeads(hf + "self_attn.q_proj.weight", nHeads, dHead));
        w.put(ActName.block(l, kv + "W_K"), w.intoHeads(hf + "self_attn.k_proj.weight", kvHeads, dHead));
        w.put(ActName.block(l, kv + "W_V"), w.intoHeads(hf + "self_attn.v_proj.weight", kvHeads, dHead));
        w.put(ActName.block(l, "attn.b_Q"), w.headBias(hf + "self_attn.q_proj.bias", nHeads, dHead));
        w.put(ActName.block(l, kv + "b_K"), w.headBias(hf + "self_attn.k_proj.bias", kvHeads, dHead));
        w.put(ActName.block(l, kv + "b_V"), w.headBias(hf + "self_attn.v_proj.bias", kvHeads, dHead));
        w.put(ActName.block(l, "attn.W_O"), w.outOfHeads(hf + "self_attn.o_proj.weight", nHeads, dHead));
        w.put(ActName.block(l, "attn.b_O"), w.biasOrZeros(hf + "self_attn.o_proj.bias", cfg.dModel()));
        if (cfg.useQkNorm()) {
            w.put(ActName.block(l, "attn.q_norm.w"), norm(w.raw(hf + "self_attn.q_norm.weight")));
            w.put(ActName.block(l, "attn.k_norm.w"), norm(w.raw(hf + "self_attn.k_norm.weight")));
        }
    }

    /** Layer {@code l}'s MLP weights, from the Hugging Face names under {@code hf} ({@code layers.l.}). */
    protected void mlpWeights(HfWeights w, String hf, int l, TransformerConfig cfg) {
        w.put(ActName.block(l, "mlp.W_gate"), w.linear(hf + "mlp.gate_proj.weight"));
        w.put(ActName.block(l, "mlp.W_in"), w.linear(hf + "mlp.up_proj.weight"));
        w.put(ActName.block(l, "mlp.b_in"), w.biasOrZeros(hf + "mlp.up_proj.bias", cfg.dMlp()));
        w.put(ActName.block(l, "mlp.W_out"), w.linear(hf + "mlp.down_proj.weight"));
        w.put(ActName.block(l, "mlp.b_out"), w.biasOrZeros(hf + "mlp.down_proj.bias", cfg.dModel()));
    }

    /** Puts {@code embed.W_E}, the token embedding as the residual stream receives it (Gemma scales it). */
    protected void putEmbedding(HfWeights w, NDArray embedTokens, TransformerConfig cfg) {
        w.put("embed.W_E", embedTokens);
    }

    /** An RMSNorm weight as the model multiplies by it (Gemma stores {@code w} for {@code 1 + w}). */
    protected NDArray norm(NDArray weight) {
        return weight;
    }
}
