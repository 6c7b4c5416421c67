package dev.loupe.load.spi;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.CheckpointException;
import dev.loupe.config.AttentionType;
import dev.loupe.config.TransformerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;

/** Typed reads of a Hugging Face {@code config.json}, with errors that name the missing key. */
public final class HfConfig {
    private final JsonNode json;

    public HfConfig(JsonNode json) {
        this.json = json;
    }

    public int requireInt(String key) {
        JsonNode node = json.get(key);
        if (node == null || !node.canConvertToInt()) {
            throw new CheckpointException("config.json has no integer '" + key + "'"
                    + (node == null ? "" : " (it is " + node + ")"));
        }
        return node.asInt();
    }

    public Optional<Integer> optionalInt(String key) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? Optional.empty() : Optional.of(requireInt(key));
    }

    public String string(String key, String fallback) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? fallback : node.asText();
    }

    public double dbl(String key, double fallback) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? fallback : node.asDouble();
    }

    /**
     * {@code num_key_value_heads} when it differs from {@code nHeads} (grouped-query attention),
     * else null: TransformerLens's {@code n_key_value_heads}.
     */
    public Integer groupedKvHeads(int nHeads) {
        int kvHeads = optionalInt("num_key_value_heads").orElse(nHeads);
        return kvHeads == nHeads ? null : kvHeads;
    }

    /** Rotary θ: {@code rope_parameters.rope_theta} (transformers 5), else {@code rope_theta}, else {@code rotary_emb_base}. */
    public double ropeTheta(double fallback) {
        JsonNode parameters = json.path("rope_parameters");
        if (parameters.hasNonNull("rope_theta")) {
            return parameters.get("rope_theta").asDouble();
        }
        return json.hasNonNull("rope_theta") ? json.get("rope_theta").asDouble() : dbl("rotary_emb_base", fallback);
    }

    /** The share of each head that rotates: {@code partial_rotary_factor} (either place), else {@code rotary_pct}. */
    public double partialRotaryFactor(double fallback) {
        JsonNode parameters = json.path("rope_parameters");
        if (parameters.hasNonNull("partial_rotary_factor")) {
            return parameters.get("partial_rotary_factor").asDouble();
        }
        return json.hasNonNull("partial_rotary_factor") ? json.get("partial_rotary_factor").asDouble()
                : dbl("rotary_pct", fallback);
    }

    /**
     * Rope scaling, written as {@code rope_parameters} (transformers 5) or {@code rope_scaling}
     * (transformers 4): Llama 3's is supported, plain rope needs nothing, others are refused.
     */
    public void applyRopeScaling(TransformerConfig.Builder builder) {
        JsonNode scaling = json.path("rope_parameters");
        String type = scaling.path("rope_type").asText("default");
        if (type.equals("default") && json.path("rope_scaling").isObject()) {
            scaling = json.get("rope_scaling");
            type = scaling.hasNonNull("rope_type") ? scaling.get("rope_type").asText() : scaling.path("type").asText("default");
        }
        switch (type) {
            case "default" -> { }
            case "llama3" -> builder.useNtkByPartsRope(true)
                    .ntkByPartsFactor(scaling.path("factor").asDouble(8.0))
                    .ntkByPartsLowFreqFactor(scaling.path("low_freq_factor").asDouble(1.0))
                    .ntkByPartsHighFreqFactor(scaling.path("high_freq_factor").asDouble(4.0))
                    .ntkOriginalCtxLen(scaling.path("original_max_position_embeddings").asInt(8192));
            default -> throw new CheckpointException("config.json asks for rope scaling '" + type
                    + "', which Loupe does not support yet (supported: none, llama3)");
        }
    }

    /**
     * Rotary θ of one kind of layer when {@code rope_parameters} holds one entry per layer type, as
     * transformers 5 writes Gemma 3's ({@code rope_parameters.sliding_attention.rope_theta},
     * {@code rope_parameters.full_attention.rope_theta}); else {@code fallback}. Refuses rope scaling
     * there, which Loupe does not apply per layer type.
     */
    public double ropeTheta(String layerType, double fallback) {
        JsonNode parameters = json.path("rope_parameters").path(layerType);
        String type = parameters.path("rope_type").asText("default");
        if (!type.equals("default")) {
            throw new CheckpointException("config.json asks for rope scaling '" + type + "' on " + layerType
                    + " layers, which Loupe does not support yet (supported: none)");
        }
        return parameters.hasNonNull("rope_theta") ? parameters.get("rope_theta").asDouble() : fallback;
    }

    /**
     * Per layer, whether it attends to a sliding window ({@code LOCAL}) or to every earlier position
     * ({@code GLOBAL}): {@code layer_types} ({@code "sliding_attention"} / {@code "full_attention"}) as
     * Hugging Face writes it, else {@code fallback} of the layer index (the model's default pattern).
     */
    public List<AttentionType> layerTypes(int nLayers, IntFunction<AttentionType> fallback) {
        JsonNode types = json.path("layer_types");
        List<AttentionType> result = new ArrayList<>();
        if (!types.isArray()) {
            for (int l = 0; l < nLayers; l++) {
                result.add(fallback.apply(l));
            }
            return result;
        }
        if (types.size() != nLayers) {
            throw new CheckpointException("config.json's layer_types has " + types.size() + " entries for "
                    + nLayers + " layers");
        }
        for (JsonNode type : types) {
            result.add(switch (type.asText()) {
                case "sliding_attention" -> AttentionType.LOCAL;
                case "full_attention" -> AttentionType.GLOBAL;
                default -> throw new CheckpointException("config.json's layer_types has '" + type.asText()
                        + "'; Loupe knows sliding_attention and full_attention");
            });
        }
        return result;
    }

    /** The raw node, or a missing node. */
    public JsonNode path(String key) {
        return json.path(key);
    }

    public boolean bool(String key, boolean fallback) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? fallback : node.asBoolean();
    }
}
