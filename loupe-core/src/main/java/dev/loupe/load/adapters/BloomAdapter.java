package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.CheckpointException;
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
 * BLOOM ({@code model_type} "bloom"): ALiBi instead of position embeddings, a LayerNorm right after
 * the embedding ({@code embed.ln}), a fused query/key/value projection grouped per head, BLOOM's
 * tanh GELU ({@code gelu_fast}), tied embeddings, no BOS by default.
 */
public final class BloomAdapter implements ArchitectureAdapter {
    /** BLOOM has no position limit of its own; TransformerLens uses this one. */
    private static final int CONTEXT = 2048;

    @Override
    public String modelType() {
        return "bloom";
    }

    @Override
    public TransformerConfig config(JsonNode hf, String modelName) {
        HfConfig c = new HfConfig(hf);
        int dModel = c.requireInt("hidden_size");
        int nHeads = c.requireInt("n_head");
        if (c.bool("apply_residual_connection_post_layernorm", false)) {
            throw new CheckpointException("config.json: BLOOM with apply_residual_connection_post_layernorm is not supported");
        }
        return TransformerConfig.builder()
                .nLayers(c.requireInt("n_layer"))
                .dModel(dModel)
                .nCtx(CONTEXT)
                .nHeads(nHeads)
                .dHead(HfConfig.headDim("hidden_size", dModel, "n_head", nHeads))
                .dMlp(HfConfig.times(4, "hidden_size", dModel))
                .dVocab(c.requireInt("vocab_size"))
                .actFn(ActivationFunctionType.GELU_FAST)
                .eps(c.positiveDbl("layer_norm_epsilon", 1e-5))
                .normalizationType(NormalizationType.LN)
                .positionalEmbeddingType(PositionalEmbeddingType.ALIBI)
                .postEmbeddingLn(true)
                .defaultPrependBos(false)
                .modelName(modelName)
                .originalArchitecture("BloomForCausalLM")
                .build();
    }

    @Override
    public Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager) {
        HfWeights w = new HfWeights(weights, "transformer.", manager);
        NDArray embedding = w.raw("word_embeddings.weight");
        w.put("embed.W_E", embedding);
        w.put("embed.ln.w", w.raw("word_embeddings_layernorm.weight"));
        w.put("embed.ln.b", w.raw("word_embeddings_layernorm.bias"));
        for (int l = 0; l < cfg.nLayers(); l++) {
            String hf = "h." + l + ".";
            w.put(ActName.block(l, "ln1.w"), w.raw(hf + "input_layernorm.weight"));
            w.put(ActName.block(l, "ln1.b"), w.raw(hf + "input_layernorm.bias"));
            w.put(ActName.block(l, "ln2.w"), w.raw(hf + "post_attention_layernorm.weight"));
            w.put(ActName.block(l, "ln2.b"), w.raw(hf + "post_attention_layernorm.bias"));
            w.putFusedPerHeadQkv(ActName.block(l, "attn."), hf + "self_attention.query_key_value.weight",
                    hf + "self_attention.query_key_value.bias", cfg.nHeads(), cfg.dHead());
            w.put(ActName.block(l, "attn.W_O"),
                    w.outOfHeads(hf + "self_attention.dense.weight", cfg.nHeads(), cfg.dHead()));
            w.put(ActName.block(l, "attn.b_O"), w.raw(hf + "self_attention.dense.bias"));
            w.put(ActName.block(l, "mlp.W_in"), w.linear(hf + "mlp.dense_h_to_4h.weight"));
            w.put(ActName.block(l, "mlp.b_in"), w.raw(hf + "mlp.dense_h_to_4h.bias"));
            w.put(ActName.block(l, "mlp.W_out"), w.linear(hf + "mlp.dense_4h_to_h.weight"));
            w.put(ActName.block(l, "mlp.b_out"), w.raw(hf + "mlp.dense_4h_to_h.bias"));
        }
        w.put("ln_final.w", w.raw("ln_f.weight"));
        w.put("ln_final.b", w.raw("ln_f.bias"));
        w.put("unembed.W_U", w.unembedding("lm_head.weight", embedding));
        w.put("unembed.b_U", w.zeros(cfg.dVocabOut()));
        return w.stateDict();
    }
}
