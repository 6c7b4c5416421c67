package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.PositionalEmbeddingType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.io.WeightSource;
import dev.loupe.load.spi.ArchitectureAdapter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loupe's "native" model folder, for models that have no Hugging Face {@code model_type} (such as
 * the small models Loupe trains itself): {@code config.json} holds TransformerLens's config fields
 * ({@code n_layers}, {@code d_model}, {@code attn_only}, … as {@link TransformerConfig#toJson()}
 * writes them) and {@code model.safetensors} holds the parameters under TransformerLens's names
 * ({@code embed.W_E}, {@code blocks.0.attn.W_Q} [n_heads, d_model, d_head], …), so nothing needs
 * converting. {@link NativeModelWriter} writes such folders.
 */
public final class NativeFormat implements ArchitectureAdapter {
    /** TransformerLens config keys that every native config.json has. */
    private static final List<String> REQUIRED_KEYS = List.of("n_layers", "d_model", "n_ctx", "d_head", "d_vocab");

    /**
     * Whether {@code config} describes a native folder: it has no {@code model_type} and has
     * TransformerLens's {@code n_layers} and {@code d_model}.
     */
    public static boolean describes(JsonNode config) {
        return !config.has("model_type") && config.has("n_layers") && config.has("d_model");
    }

    @Override
    public String modelType() {
        return "native";
    }

    @Override
    public TransformerConfig config(JsonNode json, String modelName) {
        List<String> missing = REQUIRED_KEYS.stream().filter(key -> !json.has(key)).toList();
        if (!missing.isEmpty()) {
            throw new CheckpointException("This native (TransformerLens-style) config.json lacks " + String.join(", ",
                    missing) + "; write it with NativeModelWriter or TransformerConfig.toJson()");
        }
        TransformerConfig cfg;
        try {
            cfg = TransformerConfig.fromJson(json.toString());
        } catch (LoupeException e) {
            throw new CheckpointException("config.json: " + e.getMessage(), e);
        }
        boolean named = json.hasNonNull("model_name") && !json.get("model_name").asText().equals("custom");
        return named ? cfg : cfg.toBuilder().modelName(modelName).build();
    }

    @Override
    public Map<String, NDArray> stateDict(WeightSource weights, TransformerConfig cfg, NDManager manager) {
        Map<String, NDArray> stateDict = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String name : parameterNames(cfg)) {
            if (weights.contains("", name)) {
                stateDict.put(name, weights.load("", name, manager));
            } else {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException("The native checkpoint in " + weights.dir() + " lacks " + missing.size()
                    + " parameter(s) its config.json needs, e.g. " + String.join(", ", missing.subList(0,
                    Math.min(5, missing.size()))) + "; it is incomplete or was written for another config");
        }
        return stateDict;
    }

    /** Every parameter a model with {@code cfg} has, by TransformerLens name, in TransformerLens's order. */
    public static List<String> parameterNames(TransformerConfig cfg) {
        List<String> names = new ArrayList<>();
        names.add("embed.W_E");
        if (cfg.postEmbeddingLn()) {
            names.addAll(norm("embed.ln", NormalizationType.LN));
        }
        if (cfg.positionalEmbeddingType() == PositionalEmbeddingType.STANDARD) {
            names.add("pos_embed.W_pos");
        }
        String kv = cfg.groupedQueryAttention() ? "attn._" : "attn.";
        for (int layer = 0; layer < cfg.nLayers(); layer++) {
            if (cfg.hasPreNorms()) {
                names.addAll(norm(ActName.block(layer, "ln1"), cfg.normalizationType()));
            }
            if (cfg.hasPostNorms()) {
                names.addAll(norm(ActName.block(layer, "ln1_post"), cfg.postNormalizationType()));
            }
            if (!cfg.attnOnly() && cfg.hasPreNorms()) {
                names.addAll(norm(ActName.block(layer, "ln2"), cfg.normalizationType()));
            }
            if (cfg.hasPostNorms()) {
                names.addAll(norm(ActName.block(layer, "ln2_post"), cfg.postNormalizationType()));
            }
            for (String name : List.of("attn.W_Q", kv + "W_K", kv + "W_V", "attn.W_O", "attn.b_Q", kv + "b_K",
                    kv + "b_V", "attn.b_O")) {
                names.add(ActName.block(layer, name));
            }
            if (cfg.useQkNorm()) {
                names.add(ActName.block(layer, "attn.q_norm.w"));
                names.add(ActName.block(layer, "attn.k_norm.w"));
            }
            if (cfg.mixtureOfExperts()) {
                for (int e = 0; e < cfg.numExperts(); e++) {
                    for (String name : List.of("W_in.weight", "W_out.weight", "W_gate.weight")) {
                        names.add(ActName.block(layer, "mlp.experts." + e + "." + name));
                    }
                }
                names.add(ActName.block(layer, "mlp.W_gate.weight"));
            } else if (!cfg.attnOnly()) {
                names.add(ActName.block(layer, "mlp.W_in"));
                if (cfg.gatedMlp()) {
                    names.add(ActName.block(layer, "mlp.W_gate"));
                }
                names.add(ActName.block(layer, "mlp.b_in"));
                names.add(ActName.block(layer, "mlp.W_out"));
                names.add(ActName.block(layer, "mlp.b_out"));
            }
        }
        names.addAll(norm("ln_final", cfg.finalNormalizationType()));
        names.add("unembed.W_U");
        names.add("unembed.b_U");
        return names;
    }

    private static List<String> norm(String name, NormalizationType type) {
        return switch (type) {
            case LN -> List.of(name + ".w", name + ".b");
            case RMS -> List.of(name + ".w");
            case LN_PRE, RMS_PRE, NONE -> List.of();
        };
    }

    /** Loupe writes no buffers: every tensor of a native folder is a parameter. */
    @Override
    public boolean unusedBuffer(String name) {
        return false;
    }
}
