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
 * Phi ({@code model_type} "phi", Phi-1 and Phi-2): partial rotary embeddings (halves layout),
 * attention and MLP in parallel after one LayerNorm (kept as {@code ln1} and an identical
 * {@code ln2}, as TransformerLens does), biases everywhere, an unembedding with a bias, no BOS by default.
 */
public final class PhiAdapter implements ArchitectureAdapter {

    @Override
    public String modelType() {
        return "phi";
    }

    @Override
    public TransformerConfig config(JsonNode hf, String modelName) {
        HfConfig c = new HfConfig(hf);
        int dModel = c.requireInt("hidden_size");
        int nHeads = c.requireInt("num_attention_heads");
        int dHead = HfConfig.headDim("hidden_size", dModel, "num_attention_heads", nHeads);
        if (c.bool("qk_layernorm", false)) {
            throw new CheckpointException("config.json: Phi with qk_layernorm is not supported yet");
        }
        TransformerConfig.Builder builder = TransformerConfig.builder()
                .nLayers(c.requireInt("num_hidden_layers"))
                .dModel(dModel)
                .nCtx(c.requireInt("max_position_embeddings"))
                .nHeads(nHeads)
                .dHead(dHead)
                .nKeyValueHeads(c.groupedKvHeads(nHeads))
                .dMlp(c.requireInt("intermediate_size"))
                .dVocab(c.requireInt("vocab_size"))
                .actFn(ActivationFunctionType.fromJson(c.string("hidden_act", "gelu_new")))
                .eps(c.positiveDbl("layer_norm_eps", 1e-5))
                .normalizationType(NormalizationType.LN)
                .positionalEmbeddingType(PositionalEmbeddingType.ROTARY)
                .rotaryDim((int) (dHead * c.partialRotaryFactor(0.5)))
                .rotaryBase(c.ropeTheta(10000))
                .parallelAttnMlp(true)
                .defaultPrependBos(false)
                .modelName(modelName)
                .originalArchitecture("PhiForCausalLM");
        c.applyRopeScaling(builder);
        return builder.build();
    }

    @Override
    public Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager) {
        HfWeights w = new HfWeights(weights, "model.", manager);
        int nHeads = cfg.nHeads();
        int kvHeads = cfg.kvHeads();
        int dHead = cfg.dHead();
        String kv = cfg.groupedQueryAttention() ? "attn._" : "attn.";
        NDArray embedding = w.raw("embed_tokens.weight");
        w.put("embed.W_E", embedding);
        for (int l = 0; l < cfg.nLayers(); l++) {
            String hf = "layers." + l + ".";
            NDArray lnWeight = w.raw(hf + "input_layernorm.weight");
            NDArray lnBias = w.raw(hf + "input_layernorm.bias");
            w.put(ActName.block(l, "ln1.w"), lnWeight);
            w.put(ActName.block(l, "ln1.b"), lnBias);
            w.put(ActName.block(l, "ln2.w"), lnWeight);
            w.put(ActName.block(l, "ln2.b"), lnBias);
            String attn = hf + "self_attn.";
            w.put(ActName.block(l, "attn.W_Q"), w.intoHeads(attn + "q_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, kv + "W_K"), w.intoHeads(attn + "k_proj.weight", kvHeads, dHead));
            w.put(ActName.block(l, kv + "W_V"), w.intoHeads(attn + "v_proj.weight", kvHeads, dHead));
            w.put(ActName.block(l, "attn.b_Q"), w.headBias(attn + "q_proj.bias", nHeads, dHead));
            w.put(ActName.block(l, kv + "b_K"), w.headBias(attn + "k_proj.bias", kvHeads, dHead));
            w.put(ActName.block(l, kv + "b_V"), w.headBias(attn + "v_proj.bias", kvHeads, dHead));
            w.put(ActName.block(l, "attn.W_O"), w.outOfHeads(attn + "dense.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.b_O"), w.biasOrZeros(attn + "dense.bias", cfg.dModel()));
            w.put(ActName.block(l, "mlp.W_in"), w.linear(hf + "mlp.fc1.weight"));
            w.put(ActName.block(l, "mlp.b_in"), w.raw(hf + "mlp.fc1.bias"));
            w.put(ActName.block(l, "mlp.W_out"), w.linear(hf + "mlp.fc2.weight"));
            w.put(ActName.block(l, "mlp.b_out"), w.raw(hf + "mlp.fc2.bias"));
        }
        w.put("ln_final.w", w.raw("final_layernorm.weight"));
        w.put("ln_final.b", w.raw("final_layernorm.bias"));
        w.put("unembed.W_U", w.unembedding("lm_head.weight", embedding));
        w.put("unembed.b_U", w.biasOrZeros("lm_head.bias", cfg.dVocabOut()));
        return w.stateDict();
    }
}
