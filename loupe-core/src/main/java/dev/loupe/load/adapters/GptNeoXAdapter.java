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
 * GPT-NeoX and Pythia ({@code model_type} "gpt_neox"): partial rotary embeddings (the two halves
 * of the rotated part pair up), parallel attention and MLP, a fused query/key/value projection
 * grouped per head, an untied unembedding. Reads both the current ({@code rope_parameters}) and the
 * older ({@code rotary_pct}, {@code rotary_emb_base}) config keys.
 */
public final class GptNeoXAdapter implements ArchitectureAdapter {

    @Override
    public String modelType() {
        return "gpt_neox";
    }

    @Override
    public TransformerConfig config(JsonNode hf, String modelName) {
        HfConfig c = new HfConfig(hf);
        int dModel = c.requireInt("hidden_size");
        int nHeads = c.requireInt("num_attention_heads");
        int dHead = HfConfig.headDim("hidden_size", dModel, "num_attention_heads", nHeads);
        TransformerConfig.Builder builder = TransformerConfig.builder()
                .nLayers(c.requireInt("num_hidden_layers"))
                .dModel(dModel)
                .nCtx(c.requireInt("max_position_embeddings"))
                .nHeads(nHeads)
                .dHead(dHead)
                .dMlp(c.requireInt("intermediate_size"))
                .dVocab(c.requireInt("vocab_size"))
                .actFn(ActivationFunctionType.fromJson(c.string("hidden_act", "gelu")))
                .eps(c.positiveDbl("layer_norm_eps", 1e-5))
                .normalizationType(NormalizationType.LN)
                .positionalEmbeddingType(PositionalEmbeddingType.ROTARY)
                .rotaryDim((int) (dHead * c.partialRotaryFactor(0.25)))
                .rotaryBase(c.ropeTheta(10000))
                .parallelAttnMlp(c.bool("use_parallel_residual", true))
                .defaultPrependBos(false)
                .modelName(modelName)
                .originalArchitecture("GPTNeoXForCausalLM");
        c.applyRopeScaling(builder);
        return builder.build();
    }

    @Override
    public Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager) {
        HfWeights w = new HfWeights(weights, "gpt_neox.", manager);
        NDArray embedding = w.raw("embed_in.weight");
        w.put("embed.W_E", embedding);
        for (int l = 0; l < cfg.nLayers(); l++) {
            String hf = "layers." + l + ".";
            w.put(ActName.block(l, "ln1.w"), w.raw(hf + "input_layernorm.weight"));
            w.put(ActName.block(l, "ln1.b"), w.raw(hf + "input_layernorm.bias"));
            w.put(ActName.block(l, "ln2.w"), w.raw(hf + "post_attention_layernorm.weight"));
            w.put(ActName.block(l, "ln2.b"), w.raw(hf + "post_attention_layernorm.bias"));
            w.putFusedPerHeadQkv(ActName.block(l, "attn."), hf + "attention.query_key_value.weight",
                    hf + "attention.query_key_value.bias", cfg.nHeads(), cfg.dHead());
            w.put(ActName.block(l, "attn.W_O"), w.outOfHeads(hf + "attention.dense.weight", cfg.nHeads(), cfg.dHead()));
            w.put(ActName.block(l, "attn.b_O"), w.raw(hf + "attention.dense.bias"));
            w.put(ActName.block(l, "mlp.W_in"), w.linear(hf + "mlp.dense_h_to_4h.weight"));
            w.put(ActName.block(l, "mlp.b_in"), w.raw(hf + "mlp.dense_h_to_4h.bias"));
            w.put(ActName.block(l, "mlp.W_out"), w.linear(hf + "mlp.dense_4h_to_h.weight"));
            w.put(ActName.block(l, "mlp.b_out"), w.raw(hf + "mlp.dense_4h_to_h.bias"));
        }
        w.put("ln_final.w", w.raw("final_layer_norm.weight"));
        w.put("ln_final.b", w.raw("final_layer_norm.bias"));
        // transformers 5 calls the unembedding lm_head; checkpoints saved by transformers 4 call it embed_out.
        w.put("unembed.W_U", w.unembedding(weights.contains("", "lm_head.weight") ? "lm_head.weight" : "embed_out.weight",
                embedding));
        w.put("unembed.b_U", w.zeros(cfg.dVocabOut()));
        return w.stateDict();
    }
}
