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

    /**
     * A size: a JSON integer (not 1.5, 1e9 or "12") that is positive and fits an int; the message names
     * the field and its value.
     */
    public int requireInt(String key) {
        JsonNode node = json.get(key);
        if (node == null || node.isNull()) {
            throw new CheckpointException("config.json has no integer '" + key + "'");
        }
        return positiveInt(key, node);
    }

    /** As {@link #requireInt}, or empty when the field is absent or null. */
    public Optional<Integer> optionalInt(String key) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? Optional.empty() : Optional.of(requireInt(key));
    }

    /** A count that may be 0 (a JSON integer ≥ 0), or {@code fallback} when absent or null. */
    public int countOr(String key, int fallback) {
        JsonNode node = json.get(key);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() < 0) {
            throw new CheckpointException("config.json: " + key + " must be a non-negative integer, got " + node);
        }
        return node.asInt();
    }

    private static int positiveInt(String key, JsonNode node) {
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() <= 0) {
            throw new CheckpointException("config.json: " + key + " must be a positive integer"
                    + (node.isIntegralNumber() && !node.canConvertToInt() ? " that fits in an int" : "") + ", got " + node);
        }
        return node.asInt();
    }

    /**
     * The width of a head when the config gives none: {@code dModel / nHeads}, refused unless it
     * divides evenly.
     */
    public static int headDim(String dModelKey, int dModel, String nHeadsKey, int nHeads) {
        if (dModel % nHeads != 0) {
            throw new CheckpointException("config.json: " + dModelKey + " " + dModel + " is not divisible by " + nHeadsKey
                    + " " + nHeads + " (and no head_dim says otherwise)");
        }
        return dModel / nHeads;
    }

    /** {@code factor × value} of the field {@code key}, refused where it overflows an int. */
    public static int times(int factor, String key, int value) {
        long product = (long) factor * value;
        if (product > Integer.MAX_VALUE) {
            throw new CheckpointException("config.json: " + factor + " × " + key + " " + value + " = " + product
                    + " is too large (at most " + Integer.MAX_VALUE + ")");
        }
        return (int) product;
    }

    public String string(String key, String fallback) {
        JsonNode node = json.get(key);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isTextual()) {
            throw new CheckpointException("config.json: " + key + " must be a string, got " + node);
        }
        return node.asText();
    }

    /** A finite JSON number (not a string), or {@code fallback} when absent or null. */
    public double dbl(String key, double fallback) {
        return number("config.json: " + key, json.get(key), fallback);
    }

    /** As {@link #dbl}, and it must be greater than 0 (epsilons, rotary bases, softcaps). */
    public double positiveDbl(String key, double fallback) {
        return positive("config.json: " + key, dbl(key, fallback));
    }

    private static double number(String what, JsonNode node, double fallback) {
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isNumber() || !Double.isFinite(node.asDouble())) {
            throw new CheckpointException(what + " must be a number, got " + node);
        }
        return node.asDouble();
    }

    private static double positive(String what, double value) {
        if (!(value > 0)) {
            throw new CheckpointException(what + " must be greater than 0, got " + value);
        }
        return value;
    }

    /**
     * {@code num_key_value_heads} when it differs from {@code nHeads} (grouped-query attention),
     * else null: TransformerLens's {@code n_key_value_heads}.
     */
    public Integer groupedKvHeads(int nHeads) {
        int kvHeads = optionalInt("num_key_value_heads").orElse(nHeads);
        if (nHeads % kvHeads != 0) {
            throw new CheckpointException("config.json: num_key_value_heads " + kvHeads + " must divide the number of"
                    + " attention heads " + nHeads);
        }
        return kvHeads == nHeads ? null : kvHeads;
    }

    /** Rotary θ: {@code rope_parameters.rope_theta} (transformers 5), else {@code rope_theta}, else {@code rotary_emb_base}. */
    public double ropeTheta(double fallback) {
        JsonNode parameters = json.path("rope_parameters");
        if (parameters.hasNonNull("rope_theta")) {
            return positive("config.json: rope_parameters.rope_theta",
                    number("config.json: rope_parameters.rope_theta", parameters.get("rope_theta"), fallback));
        }
        return json.hasNonNull("rope_theta") ? positiveDbl("rope_theta", fallback) : positiveDbl("rotary_emb_base", fallback);
    }

    /** The share of each head that rotates: {@code partial_rotary_factor} (either place), else {@code rotary_pct}. */
    public double partialRotaryFactor(double fallback) {
        JsonNode parameters = json.path("rope_parameters");
        String key = parameters.hasNonNull("partial_rotary_factor") ? "rope_parameters.partial_rotary_factor"
                : json.hasNonNull("partial_rotary_factor") ? "partial_rotary_factor" : "rotary_pct";
        JsonNode node = parameters.hasNonNull("partial_rotary_factor") ? parameters.get("partial_rotary_factor")
                : json.get(key);
        double factor = number("config.json: " + key, node, fallback);
        if (!(factor > 0 && factor <= 1)) {
            throw new CheckpointException("config.json: " + key + " must be in (0, 1], got " + factor);
        }
        return factor;
    }

    /**
     * Rope scaling, written as {@code rope_parameters} (transformers 5) or {@code rope_scaling}
     * (transformers 4): Llama 3's is supported, plain rope needs nothing, others are refused.
     */
    public void applyRopeScaling(TransformerConfig.Builder builder) {
        for (String key : new String[] {"rope_parameters", "rope_scaling"}) {
            JsonNode node = json.get(key);
            if (node != null && !node.isNull() && !node.isObject()) {
                throw new CheckpointException("config.json: " + key + " must be an object, got " + node);
            }
        }
        String key = "rope_parameters";
        JsonNode scaling = json.path(key);
        String type = ropeType(key, scaling, "rope_type");
        if (type.equals("default") && json.path("rope_scaling").isObject()) {
            key = "rope_scaling";
            scaling = json.get(key);
            type = ropeType(key, scaling, scaling.hasNonNull("rope_type") ? "rope_type" : "type");
        }
        String at = "config.json: " + key + ".";
        switch (type) {
            case "default" -> { }
            case "llama3" -> builder.useNtkByPartsRope(true)
                    .ntkByPartsFactor(positive(at + "factor", number(at + "factor", scaling.get("factor"), 8.0)))
                    .ntkByPartsLowFreqFactor(positive(at + "low_freq_factor",
                            number(at + "low_freq_factor", scaling.get("low_freq_factor"), 1.0)))
                    .ntkByPartsHighFreqFactor(positive(at + "high_freq_factor",
                            number(at + "high_freq_factor", scaling.get("high_freq_factor"), 4.0)))
                    .ntkOriginalCtxLen(scaling.hasNonNull("original_max_position_embeddings")
                            ? positiveInt(key + ".original_max_position_embeddings",
                                    scaling.get("original_max_position_embeddings")) : 8192);
            default -> throw new CheckpointException("config.json asks for rope scaling '" + type
                    + "', which Loupe does not support yet (supported: none, llama3)");
        }
    }

    private static String ropeType(String key, JsonNode scaling, String field) {
        JsonNode node = scaling.get(field);
        if (node == null || node.isNull()) {
            return "default";
        }
        if (!node.isTextual()) {
            throw new CheckpointException("config.json: " + key + "." + field + " must be a string, got " + node);
        }
        return node.asText();
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
        String what = "config.json: rope_parameters." + layerType + ".rope_theta";
        return positive(what, number(what, parameters.get("rope_theta"), fallback));
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
