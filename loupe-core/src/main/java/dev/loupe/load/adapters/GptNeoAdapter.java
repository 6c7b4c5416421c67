package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.CheckpointException;
import dev.loupe.config.ActivationFunctionType;
import dev.loupe.config.AttentionType;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.io.WeightSource;
import dev.loupe.load.spi.ArchitectureAdapter;
import dev.loupe.load.spi.HfConfig;
import dev.loupe.load.spi.HfWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * GPT-Neo ({@code model_type} "gpt_neo"): GPT-2 with layers that alternate between global and local
 * (windowed) attention, and attention scores that are not divided by {@code sqrt(d_head)}.
 */
public final class GptNeoAdapter implements ArchitectureAdapter {

    @Override
    public String modelType() {
        return "gpt_neo";
    }

    @Override
    public TransformerConfig config(JsonNode hf, String modelName) {
        HfConfig c = new HfConfig(hf);
        int dModel = c.requireInt("hidden_size");
        int nHeads = c.requireInt("num_heads");
        int nLayers = c.requireInt("num_layers");
        List<AttentionType> types = attentionTypes(c, nLayers);
        return TransformerConfig.builder()
                .nLayers(nLayers)
                .dModel(dModel)
                .nCtx(c.requireInt("max_position_embeddings"))
                .nHeads(nHeads)
                .dHead(HfConfig.headDim("hidden_size", dModel, "num_heads", nHeads))
                .dMlp(c.optionalInt("intermediate_size").orElseGet(() -> HfConfig.times(4, "hidden_size", dModel)))
                .dVocab(c.requireInt("vocab_size"))
                .actFn(ActivationFunctionType.fromJson(c.string("activation_function", "gelu_new")))
                .eps(c.positiveDbl("layer_norm_epsilon", 1e-5))
                .normalizationType(NormalizationType.LN)
                .useAttnScale(false)
                .useLocalAttn(types.contains(AttentionType.LOCAL))
                .windowSize(c.optionalInt("window_size").orElse(256))
                .attnTypes(types)
                .modelName(modelName)
                .originalArchitecture("GPTNeoForCausalLM")
                .build();
    }

    /** {@code attention_types} ([[["global", "local"], 12]]) expanded to one entry per layer, as Hugging Face does. */
    private static List<AttentionType> attentionTypes(HfConfig c, int nLayers) {
        List<AttentionType> types = new ArrayList<>();
        for (JsonNode group : c.path("attention_types")) {
            if (!group.path(0).isArray() || !group.path(1).isIntegralNumber() || !group.get(1).canConvertToInt()
                    || group.get(1).asInt() <= 0 || group.get(1).asInt() > nLayers) {
                throw new CheckpointException("config.json: attention_types must hold [[kinds...], repeats] pairs with a"
                        + " positive repeat count, got " + group);
            }
            for (int repeat = 0; repeat < group.get(1).asInt() && types.size() <= nLayers; repeat++) {
                group.get(0).forEach(type -> types.add(AttentionType.fromJson(type.asText())));
            }
        }
        if (types.isEmpty()) {
            c.path("attention_layers").forEach(type -> types.add(AttentionType.fromJson(type.asText())));
        }
        if (types.size() != nLayers) {
            throw new CheckpointException("config.json: attention_types give " + types.size() + " layers but num_layers is "
                    + nLayers);
        }
        return types;
    }

    @Override
    public Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager) {
        HfWeights w = new HfWeights(weights, "transformer.", manager);
        int nHeads = cfg.nHeads();
        int dHead = cfg.dHead();
        NDArray embedding = w.raw("wte.weight");
        w.put("embed.W_E", embedding);
        w.put("pos_embed.W_pos", w.raw("wpe.weight"));
        for (int l = 0; l < cfg.nLayers(); l++) {
            String hf = "h." + l + ".";
            w.put(ActName.block(l, "ln1.w"), w.raw(hf + "ln_1.weight"));
            w.put(ActName.block(l, "ln1.b"), w.raw(hf + "ln_1.bias"));
            w.put(ActName.block(l, "ln2.w"), w.raw(hf + "ln_2.weight"));
            w.put(ActName.block(l, "ln2.b"), w.raw(hf + "ln_2.bias"));
            String attn = hf + "attn.attention.";
            w.put(ActName.block(l, "attn.W_Q"), w.intoHeads(attn + "q_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.W_K"), w.intoHeads(attn + "k_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.W_V"), w.intoHeads(attn + "v_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.b_Q"), w.zeros(nHeads, dHead));
            w.put(ActName.block(l, "attn.b_K"), w.zeros(nHeads, dHead));
            w.put(ActName.block(l, "attn.b_V"), w.zeros(nHeads, dHead));
            w.put(ActName.block(l, "attn.W_O"), w.outOfHeads(attn + "out_proj.weight", nHeads, dHead));
            w.put(ActName.block(l, "attn.b_O"), w.raw(attn + "out_proj.bias"));
            w.put(ActName.block(l, "mlp.W_in"), w.linear(hf + "mlp.c_fc.weight"));
            w.put(ActName.block(l, "mlp.b_in"), w.raw(hf + "mlp.c_fc.bias"));
            w.put(ActName.block(l, "mlp.W_out"), w.linear(hf + "mlp.c_proj.weight"));
            w.put(ActName.block(l, "mlp.b_out"), w.raw(hf + "mlp.c_proj.bias"));
        }
        w.put("ln_final.w", w.raw("ln_f.weight"));
        w.put("ln_final.b", w.raw("ln_f.bias"));
        w.put("unembed.W_U", w.unembedding("lm_head.weight", embedding));
        w.put("unembed.b_U", w.zeros(cfg.dVocabOut()));
        return w.stateDict();
    }
}
