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
 * GPT-J ({@code model_type} "gptj"): rotary embeddings over the first {@code rotary_dim}
 * dimensions in adjacent pairs, attention and MLP in parallel after one shared LayerNorm (which
 * TransformerLens keeps as {@code ln1} and an identical {@code ln2}), and an unembedding with a bias.
 */
public final class GptJAdapter implements ArchitectureAdapter {

    @Override
    public String modelType() {
        return "gptj";
    }

    @Override
    public TransformerConfig config(JsonNode hf, String modelName) {
        HfConfig c = new HfConfig(hf);
        int dModel = c.requireInt("n_embd");
        int nHeads = c.requireInt("n_head");
        int dHead = HfConfig.headDim("n_embd", dModel, "n_head", nHeads);
        return TransformerConfig.builder()
                .nLayers(c.requireInt("n_layer"))
                .dModel(dModel)
                .nCtx(c.requireInt("n_positions"))
                .nHeads(nHeads)
                .dHead(dHead)
                .dMlp(c.optionalInt("n_inner").orElseGet(() -> HfConfig.times(4, "n_embd", dModel)))
                .dVocab(c.requireInt("vocab_size"))
                .actFn(ActivationFunctionType.fromJson(c.string("activation_function", "gelu_new")))
                .eps(c.positiveDbl("layer_norm_epsilon", 1e-5))
                .normalizationType(NormalizationType.LN)
                .positionalEmbeddingType(PositionalEmbeddingType.ROTARY)
                .rotaryDim(c.optionalInt("rotary_dim").orElse(dHead))
                .rotaryAdjacentPairs(true)
                .rotaryBase(c.ropeTheta(10000))
                .parallelAttnMlp(true)
                .modelName(modelName)
                .originalArchitecture("GPTJForCausalLM")
                .build();
    }

    @Override
    public Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager) {
        HfWeights w = new HfWeights(weights, "transformer.", manager);
        int nHeads = cfg.nHeads();
        int dHead = cfg.dHead();
        NDArray embedding = w.raw("wte.weight");
        w.put("embed.W_E", embedding);
        for (int l = 0; l < cfg.nLayers(); l++) {
            String hf = "h." + l + ".";
            NDArray lnWeight = w.raw(hf + "ln_1.weight");
            NDArray lnBias = w.raw(hf + "ln_1.bias");
            w.put(ActName.block(l, "ln1.w"), lnWeight);
            w.put(ActName.block(l, "ln1.b"), lnBias);
            w.put(ActName.block(l, "ln2.w"), lnWeight);
            w.put(ActName.block(l, "ln2.b"), lnBias);
            w.put(ActName.block(l, "attn.W_Q"), w.intoHeads(hf + "attn.q_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.W_K"), w.intoHeads(hf + "attn.k_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.W_V"), w.intoHeads(hf + "attn.v_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.b_Q"), w.zeros(nHeads, dHead));
            w.put(ActName.block(l, "attn.b_K"), w.zeros(nHeads, dHead));
            w.put(ActName.block(l, "attn.b_V"), w.zeros(nHeads, dHead));
            w.put(ActName.block(l, "attn.W_O"), w.outOfHeads(hf + "attn.out_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.b_O"), w.zeros(cfg.dModel()));
            w.put(ActName.block(l, "mlp.W_in"), w.linear(hf + "mlp.fc_in.weight"));
            w.put(ActName.block(l, "mlp.b_in"), w.raw(hf + "mlp.fc_in.bias"));
            w.put(ActName.block(l, "mlp.W_out"), w.linear(hf + "mlp.fc_out.weight"));
            w.put(ActName.block(l, "mlp.b_out"), w.raw(hf + "mlp.fc_out.bias"));
        }
        w.put("ln_final.w", w.raw("ln_f.weight"));
        w.put("ln_final.b", w.raw("ln_f.bias"));
        w.put("unembed.W_U", w.unembedding("lm_head.weight", embedding));
        w.put("unembed.b_U", w.biasOrZeros("lm_head.bias", cfg.dVocabOut()));
        return w.stateDict();
    }
}
