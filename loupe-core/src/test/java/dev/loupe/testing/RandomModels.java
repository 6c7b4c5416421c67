package dev.loupe.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.ActivationFunctionType;
import dev.loupe.config.AttentionType;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.PositionalEmbeddingType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Random TransformerLens-named state dicts for any config, with non-trivial norms and biases. */
public final class RandomModels {
    private RandomModels() {}

    /** A small GPT-2-like config: LayerNorm, learned positions. */
    public static TransformerConfig layerNormConfig() {
        return TransformerConfig.builder().nLayers(2).dModel(16).nCtx(12).dHead(4).nHeads(4).dMlp(24).dVocab(40)
                .actFn(ActivationFunctionType.GELU_NEW).normalizationType(NormalizationType.LN).build();
    }

    /** A small Llama-like config: RMSNorm, rotary, grouped-query attention, gated MLP. */
    public static TransformerConfig rmsNormConfig() {
        return TransformerConfig.builder().nLayers(2).dModel(16).nCtx(12).dHead(4).nHeads(4).nKeyValueHeads(2).dMlp(24)
                .dVocab(40).actFn(ActivationFunctionType.SILU).normalizationType(NormalizationType.RMS)
                .gatedMlp(true).finalRms(true)
                .positionalEmbeddingType(PositionalEmbeddingType.ROTARY).build();
    }

    /**
     * A small Gemma-2/3-like config: norms before and after attention and the MLP, soft-caps, q/k norms
     * per head, alternating sliding-window and global layers with a rotary base each.
     */
    public static TransformerConfig gemmaLikeConfig() {
        return rmsNormConfig().toBuilder().nLayers(3).useNormalizationBeforeAndAfter(true).attnScoresSoftCap(3.0)
                .outputLogitsSoftCap(2.5).useQkNorm(true).useLocalAttn(true).windowSize(3)
                .attnTypes(List.of(AttentionType.LOCAL, AttentionType.GLOBAL, AttentionType.LOCAL))
                .rotaryBase(1e6).rotaryBaseLocal(100.0).attnScale(3.0).build();
    }

    /** A small OLMo-2-like config with grouped-query attention: norms only after the sub-layers, q/k norms across heads. */
    public static TransformerConfig olmoLikeConfig() {
        return rmsNormConfig().toBuilder().useNormalizationAfterOnly(true).useQkNorm(true).qkNormAcrossHeads(true).build();
    }

    /** A small Mixtral-like config: {@link #rmsNormConfig()} with a mixture of 4 experts, 2 per token. */
    public static TransformerConfig mixtureOfExpertsConfig() {
        return rmsNormConfig().toBuilder().numExperts(4).expertsPerToken(2).build();
    }

    /** Every parameter {@code cfg} needs, drawn at random (seeded by the manager's engine). */
    public static Map<String, NDArray> stateDict(TransformerConfig cfg, NDManager manager) {
        Map<String, NDArray> sd = new LinkedHashMap<>();
        int d = cfg.dModel();
        int h = cfg.nHeads();
        int kv = cfg.kvHeads();
        int dh = cfg.dHead();
        boolean layerNorm = cfg.normalizationType() == NormalizationType.LN;
        sd.put("embed.W_E", random(manager, 1.0f, cfg.dVocab(), d));
        if (cfg.positionalEmbeddingType() == PositionalEmbeddingType.STANDARD) {
            sd.put("pos_embed.W_pos", random(manager, 0.5f, cfg.nCtx(), d));
        }
        String gqa = cfg.groupedQueryAttention() ? "attn._" : "attn.";
        for (int l = 0; l < cfg.nLayers(); l++) {
            List<String> norms = new ArrayList<>();
            if (cfg.hasPreNorms()) {
                norms.addAll(List.of("ln1", "ln2"));
            }
            if (cfg.hasPostNorms()) {
                norms.addAll(List.of("ln1_post", "ln2_post"));
            }
            for (String ln : norms) {
                sd.put(ActName.block(l, ln + ".w"), random(manager, 0.2f, d).add(1f));
                if (layerNorm) {
                    sd.put(ActName.block(l, ln + ".b"), random(manager, 0.1f, d));
                }
            }
            if (cfg.useQkNorm()) {
                sd.put(ActName.block(l, "attn.q_norm.w"), random(manager, 0.2f, cfg.qkNormAcrossHeads() ? h * dh : dh).add(1f));
                sd.put(ActName.block(l, "attn.k_norm.w"), random(manager, 0.2f, cfg.qkNormAcrossHeads() ? kv * dh : dh).add(1f));
            }
            sd.put(ActName.block(l, "attn.W_Q"), random(manager, 0.4f, h, d, dh));
            sd.put(ActName.block(l, gqa + "W_K"), random(manager, 0.4f, kv, d, dh));
            sd.put(ActName.block(l, gqa + "W_V"), random(manager, 0.4f, kv, d, dh));
            sd.put(ActName.block(l, "attn.b_Q"), random(manager, 0.1f, h, dh));
            sd.put(ActName.block(l, gqa + "b_K"), random(manager, 0.1f, kv, dh));
            sd.put(ActName.block(l, gqa + "b_V"), random(manager, 0.1f, kv, dh));
            sd.put(ActName.block(l, "attn.W_O"), random(manager, 0.4f, h, dh, d));
            sd.put(ActName.block(l, "attn.b_O"), random(manager, 0.1f, d));
            if (cfg.mixtureOfExperts()) {
                for (int e = 0; e < cfg.numExperts(); e++) {
                    String expert = ActName.block(l, "mlp.experts." + e + ".");
                    sd.put(expert + "W_in.weight", random(manager, 0.4f, cfg.dMlp(), d));
                    sd.put(expert + "W_out.weight", random(manager, 0.3f, d, cfg.dMlp()));
                    sd.put(expert + "W_gate.weight", random(manager, 0.4f, cfg.dMlp(), d));
                }
                sd.put(ActName.block(l, "mlp.W_gate.weight"), random(manager, 0.6f, cfg.numExperts(), d));
                continue;
            }
            sd.put(ActName.block(l, "mlp.W_in"), random(manager, 0.4f, d, cfg.dMlp()));
            if (cfg.gatedMlp()) {
                sd.put(ActName.block(l, "mlp.W_gate"), random(manager, 0.4f, d, cfg.dMlp()));
            }
            sd.put(ActName.block(l, "mlp.b_in"), random(manager, 0.1f, cfg.dMlp()));
            sd.put(ActName.block(l, "mlp.W_out"), random(manager, 0.3f, cfg.dMlp(), d));
            sd.put(ActName.block(l, "mlp.b_out"), random(manager, 0.1f, d));
        }
        sd.put("ln_final.w", random(manager, 0.2f, d).add(1f));
        if (layerNorm) {
            sd.put("ln_final.b", random(manager, 0.1f, d));
        }
        sd.put("unembed.W_U", random(manager, 0.4f, d, cfg.dVocabOut()));
        sd.put("unembed.b_U", random(manager, 0.1f, cfg.dVocabOut()));
        return sd;
    }

    private static NDArray random(NDManager manager, float scale, long... shape) {
        return manager.randomNormal(0f, scale, new Shape(shape), ai.djl.ndarray.types.DataType.FLOAT32);
    }
}
