package dev.loupe.load.spi;

import dev.loupe.CheckpointException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.config.TransformerConfig;
import java.util.Optional;

/** Typed reads of a Hugging Face {@code config.json}, with errors that name the missing key. */
public final class HfConfig {
    private final JsonNode json;

    public HfConfig(JsonNode json) {
        this.json = json;
    }

    public int requireInt(String key) {
        JsonNode node = json.get(key);
        if (node == null || !node.canConvertToInt()) {
            throw new CheckpointException("config.json has no integer '" + key + "'" + (node == null ? "" : " (it is " + node + ")"));
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

    /** The raw node, or a missing node. */
    public JsonNode path(String key) {
        return json.path(key);
    }

    public boolean bool(String key, boolean fallback) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? fallback : node.asBoolean();
    }
}
