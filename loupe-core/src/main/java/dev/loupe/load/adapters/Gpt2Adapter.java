package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
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
import dev.loupe.load.spi.Tensors;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GPT-2 ({@code model_type} "gpt2"): learned positions, LayerNorm, gelu_new, fused {@code c_attn}
 * projections stored in {@code Conv1D} layout ([in, out]), and usually tied embeddings.
 */
public final class Gpt2Adapter implements ArchitectureAdapter {
    private static final String PREFIX = "transformer.";

    @Override
    public String modelType() {
        return "gpt2";
    }

    @Override
    public TransformerConfig config(JsonNode hf, String modelName) {
        HfConfig c = new HfConfig(hf);
        int dModel = c.requireInt("n_embd");
        int nHeads = c.requireInt("n_head");
        if (c.bool("scale_attn_by_inverse_layer_idx", false)) {
            throw new CheckpointException("config.json: scale_attn_by_inverse_layer_idx is not supported yet");
        }
        int dMlp = c.optionalInt("n_inner").orElseGet(() -> HfConfig.times(4, "n_embd", dModel));
        return TransformerConfig.builder()
                .nLayers(c.requireInt("n_layer"))
                .dModel(dModel)
                .nCtx(c.optionalInt("n_positions").orElseGet(() -> c.requireInt("n_ctx")))
                .nHeads(nHeads)
                .dHead(HfConfig.headDim("n_embd", dModel, "n_head", nHeads))
                .dMlp(dMlp)
                .dVocab(c.requireInt("vocab_size"))
                .actFn(ActivationFunctionType.fromJson(c.string("activation_function", "gelu_new")))
                .eps(c.positiveDbl("layer_norm_epsilon", 1e-5))
                .normalizationType(NormalizationType.LN)
                .positionalEmbeddingType(PositionalEmbeddingType.STANDARD)
                .useAttnScale(c.bool("scale_attn_weights", true))
                .modelName(modelName)
                .originalArchitecture("GPT2LMHeadModel")
                .build();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Some converted tensors are views of the loaded ones, which may alias the memory-mapped
     * file; the loaded tensors therefore stay open in {@code manager} for the model's lifetime.
     */
    @Override
    public Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager) {
        int d = cfg.dModel();
        int nHeads = cfg.nHeads();
        int dHead = cfg.dHead();
        Map<String, NDArray> sd = new LinkedHashMap<>();
        NDArray wte = weights.load(PREFIX, "wte.weight", manager); // [d_vocab, d_model]
        sd.put("embed.W_E", wte);
        sd.put("pos_embed.W_pos", weights.load(PREFIX, "wpe.weight", manager));
        for (int l = 0; l < cfg.nLayers(); l++) {
            String hf = "h." + l + ".";
            sd.put(ActName.block(l, "ln1.w"), weights.load(PREFIX, hf + "ln_1.weight", manager));
            sd.put(ActName.block(l, "ln1.b"), weights.load(PREFIX, hf + "ln_1.bias", manager));
            sd.put(ActName.block(l, "ln2.w"), weights.load(PREFIX, hf + "ln_2.weight", manager));
            sd.put(ActName.block(l, "ln2.b"), weights.load(PREFIX, hf + "ln_2.bias", manager));
            NDArray cAttn = expect(weights.load(PREFIX, hf + "attn.c_attn.weight", manager), hf + "attn.c_attn.weight", d,
                    3L * d);
            NDArray cAttnBias = expect(weights.load(PREFIX, hf + "attn.c_attn.bias", manager), hf + "attn.c_attn.bias", 3L * d);
            String[] names = {"Q", "K", "V"};
            for (int i = 0; i < 3; i++) {
                String slice = ":, " + i * d + ":" + (i + 1) * d;
                // [d_model, n_heads * d_head] → [n_heads, d_model, d_head]
                sd.put(ActName.block(l, "attn.W_" + names[i]),
                        Tensors.contiguous(cAttn.get(slice).reshape(d, nHeads, dHead).transpose(1, 0, 2)));
                sd.put(ActName.block(l, "attn.b_" + names[i]),
                        Tensors.contiguous(cAttnBias.get(i * d + ":" + (i + 1) * d).reshape(nHeads, dHead)));
            }
            NDArray cProj = expect(weights.load(PREFIX, hf + "attn.c_proj.weight", manager), hf + "attn.c_proj.weight", d, d);
            sd.put(ActName.block(l, "attn.W_O"), cProj.reshape(nHeads, dHead, d)); // rows are (head, d_head) pairs
            sd.put(ActName.block(l, "attn.b_O"), weights.load(PREFIX, hf + "attn.c_proj.bias", manager));
            sd.put(ActName.block(l, "mlp.W_in"), weights.load(PREFIX, hf + "mlp.c_fc.weight", manager));
            sd.put(ActName.block(l, "mlp.b_in"), weights.load(PREFIX, hf + "mlp.c_fc.bias", manager));
            sd.put(ActName.block(l, "mlp.W_out"), weights.load(PREFIX, hf + "mlp.c_proj.weight", manager));
            sd.put(ActName.block(l, "mlp.b_out"), weights.load(PREFIX, hf + "mlp.c_proj.bias", manager));
        }
        sd.put("ln_final.w", weights.load(PREFIX, "ln_f.weight", manager));
        sd.put("ln_final.b", weights.load(PREFIX, "ln_f.bias", manager));
        // Tied: W_U is a view of W_E, one stored copy for both (HfWeights.unembedding says when they diverge).
        sd.put("unembed.W_U", weights.contains("", "lm_head.weight")
                ? Tensors.contiguous(weights.load("", "lm_head.weight", manager).transpose()) : wte.transpose());
        sd.put("unembed.b_U", manager.zeros(new Shape(cfg.dVocabOut())));
        return sd;
    }

    private static NDArray expect(NDArray array, String name, long... shape) {
        if (!array.getShape().equals(new Shape(shape))) {
            throw new CheckpointException("Weight " + name + " has shape " + array.getShape() + " but config.json implies "
                    + new Shape(shape));
        }
        return array;
    }
}
