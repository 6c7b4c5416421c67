package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.CheckpointException;
import dev.loupe.config.ActivationFunctionType;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.io.WeightSource;
import dev.loupe.load.spi.ArchitectureAdapter;
import dev.loupe.load.spi.HfConfig;
import dev.loupe.load.spi.HfWeights;
import java.util.Map;

/**
 * OPT ({@code model_type} "opt"): learned positions stored with an offset of 2 (rows 0 and 1 are
 * never used), ReLU, pre-LayerNorm blocks and a final LayerNorm. Post-LayerNorm OPT (350m) and a
 * projected embedding ({@code word_embed_proj_dim} ≠ {@code hidden_size}) are refused.
 */
public final class OptAdapter implements ArchitectureAdapter {
    private static final int POSITION_OFFSET = 2;

    @Override
    public String modelType() {
        return "opt";
    }

    @Override
    public TransformerConfig config(JsonNode hf, String modelName) {
        HfConfig c = new HfConfig(hf);
        int dModel = c.requireInt("hidden_size");
        int nHeads = c.requireInt("num_attention_heads");
        if (!c.bool("do_layer_norm_before", true)) {
            throw new CheckpointException("config.json: OPT with do_layer_norm_before = false (post-LayerNorm, as opt-350m) "
                    + "is not supported");
        }
        if (c.optionalInt("word_embed_proj_dim").orElse(dModel) != dModel) {
            throw new CheckpointException("config.json: OPT with word_embed_proj_dim ≠ hidden_size (a projected embedding) "
                    + "is not supported");
        }
        return TransformerConfig.builder()
                .nLayers(c.requireInt("num_hidden_layers"))
                .dModel(dModel)
                .nCtx(c.requireInt("max_position_embeddings"))
                .nHeads(nHeads)
                .dHead(HfConfig.headDim("hidden_size", dModel, "num_attention_heads", nHeads))
                .dMlp(c.requireInt("ffn_dim"))
                .dVocab(c.requireInt("vocab_size"))
                .actFn(ActivationFunctionType.fromJson(c.string("activation_function", "relu")))
                .eps(1e-5)
                .normalizationType(NormalizationType.LN)
                .modelName(modelName)
                .originalArchitecture("OPTForCausalLM")
                .build();
    }

    @Override
    public Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager) {
        HfWeights w = new HfWeights(weights, "model.decoder.", manager);
        int nHeads = cfg.nHeads();
        int dHead = cfg.dHead();
        NDArray embedding = w.raw("embed_tokens.weight");
        w.put("embed.W_E", embedding);
        NDArray positions = w.raw("embed_positions.weight");
        w.put("pos_embed.W_pos", positions.get(POSITION_OFFSET + ":" + (POSITION_OFFSET + cfg.nCtx())));
        for (int l = 0; l < cfg.nLayers(); l++) {
            String hf = "layers." + l + ".";
            w.put(ActName.block(l, "ln1.w"), w.raw(hf + "self_attn_layer_norm.weight"));
            w.put(ActName.block(l, "ln1.b"), w.raw(hf + "self_attn_layer_norm.bias"));
            w.put(ActName.block(l, "ln2.w"), w.raw(hf + "final_layer_norm.weight"));
            w.put(ActName.block(l, "ln2.b"), w.raw(hf + "final_layer_norm.bias"));
            String attn = hf + "self_attn.";
            w.put(ActName.block(l, "attn.W_Q"), w.intoHeads(attn + "q_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.W_K"), w.intoHeads(attn + "k_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.W_V"), w.intoHeads(attn + "v_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.b_Q"), w.headBias(attn + "q_proj.bias", nHeads, dHead));
            w.put(ActName.block(l, "attn.b_K"), w.headBias(attn + "k_proj.bias", nHeads, dHead));
            w.put(ActName.block(l, "attn.b_V"), w.headBias(attn + "v_proj.bias", nHeads, dHead));
            w.put(ActName.block(l, "attn.W_O"), w.outOfHeads(attn + "out_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.b_O"), w.biasOrZeros(attn + "out_proj.bias", cfg.dModel()));
            w.put(ActName.block(l, "mlp.W_in"), w.linear(hf + "fc1.weight"));
            w.put(ActName.block(l, "mlp.b_in"), w.biasOrZeros(hf + "fc1.bias", cfg.dMlp()));
            w.put(ActName.block(l, "mlp.W_out"), w.linear(hf + "fc2.weight"));
            w.put(ActName.block(l, "mlp.b_out"), w.biasOrZeros(hf + "fc2.bias", cfg.dModel()));
        }
        w.put("ln_final.w", w.raw("final_layer_norm.weight"));
        w.put("ln_final.b", w.raw("final_layer_norm.bias"));
        w.put("unembed.W_U", w.unembedding("lm_head.weight", embedding));
        w.put("unembed.b_U", w.zeros(cfg.dVocabOut()));
        return w.stateDict();
    }
}
