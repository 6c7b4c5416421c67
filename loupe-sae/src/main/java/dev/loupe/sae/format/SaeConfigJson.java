package dev.loupe.sae.format;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes SAELens's {@code cfg.json}. Reading follows SAELens 6.18's {@code load_from_disk}:
 * a config without {@code sae_lens_version} (at the top or in {@code metadata}), or older than 6.0, is
 * first brought to the 6.0 layout as {@code handle_pre_6_0_config} does; then the fields of the
 * architecture's config class are taken with SAELens's defaults, unknown top-level keys are ignored, and
 * {@code metadata} is kept whole (with {@code sae_lens_version} and {@code sae_lens_training_version}
 * first, defaulting to {@link SaeConfig#SAE_LENS_VERSION}, as SAELens's {@code SAEMetadata}).
 *
 * <p>Writing gives {@code SAEConfig.to_dict}'s keys, values and order: {@code d_in, d_sae, dtype, device,
 * apply_b_dec_to_input, normalize_activations, reshape_activations, metadata}, then {@code k,
 * rescale_acts_by_decoder_norm} (topk) or {@code d_out} (transcoders), then {@code architecture} (SAELens's
 * training runner writes trained SAEs through {@code save_inference_model}, in another key order; readers go by
 * name), spaced as Python's {@code json.dump}: the same bytes as SAELens's file unless a value is a float.
 */
public final class SaeConfigJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** SAELens's {@code LLM_METADATA_KEYS}: what a pre-6.0 config's top level moves into metadata. */
    private static final Set<String> METADATA_KEYS = Set.of("model_name", "hook_name", "model_class_name",
            "hook_head_index", "model_from_pretrained_kwargs", "prepend_bos", "exclude_special_tokens",
            "neuronpedia_id", "context_size", "seqpos_slice", "dataset_path", "sae_lens_version",
            "sae_lens_training_version", "hook_name_out", "hook_head_index_out");
    private static final Map<String, String> RENAMED = Map.of("hook_point", "hook_name",
            "hook_point_head_index", "hook_head_index", "activation_fn_str", "activation_fn");

    private SaeConfigJson() {}

    /**
     * The config in {@code root} (a parsed {@code cfg.json}).
     *
     * @param where the file, named in errors
     * @throws CheckpointException if a field is missing, of the wrong type or out of range, naming it
     */
    public static SaeConfig read(JsonNode root, String where) {
        if (!(root instanceof ObjectNode object)) {
            throw new CheckpointException(where + ": expected a JSON object, got " + root.getNodeType());
        }
        ObjectNode cfg = isPre6(object, where) ? pre6(object, where) : object.deepCopy();
        SaeArchitecture architecture = SaeArchitecture.fromJson(text(cfg, "architecture", "standard", where), where);
        int dIn = integer(cfg, "d_in", null, where);
        int dSae = integer(cfg, "d_sae", null, where);
        String reshape = text(cfg, "reshape_activations", "none", where);
        if (!reshape.equals("none") && !reshape.equals("hook_z")) {
            throw new CheckpointException(where + ": reshape_activations \"" + reshape + "\" is not none or hook_z");
        }
        boolean topk = architecture == SaeArchitecture.TOPK;
        boolean transcoder = architecture == SaeArchitecture.TRANSCODER;
        try {
            return new SaeConfig(dIn, dSae, text(cfg, "dtype", "float32", where), text(cfg, "device", "cpu", where),
                    bool(cfg, "apply_b_dec_to_input", true, where),
                    ActivationNormalization.fromJson(text(cfg, "normalize_activations", "none", where), where),
                    reshape.equals("hook_z"), metadata(cfg.get("metadata"), where), architecture,
                    topk ? integer(cfg, "k", 100, where) : 0,
                    topk && bool(cfg, "rescale_acts_by_decoder_norm", false, where),
                    transcoder ? integer(cfg, "d_out", 768, where) : dIn);
        } catch (CheckpointException e) {
            throw e;
        } catch (LoupeException e) {
            throw new CheckpointException(where + ": " + e.getMessage(), e);
        }
    }

    /** SAELens's {@code cfg.json} for {@code cfg} (see the class comment for the order). */
    public static ObjectNode toJson(SaeConfig cfg) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("d_in", cfg.dIn());
        out.put("d_sae", cfg.dSae());
        out.put("dtype", cfg.dtype());
        out.put("device", cfg.device());
        out.put("apply_b_dec_to_input", cfg.applyBDecToInput());
        out.put("normalize_activations", cfg.normalizeActivations().jsonName());
        out.put("reshape_activations", cfg.reshapeHookZ() ? "hook_z" : "none");
        out.set("metadata", cfg.metadata());
        if (cfg.architecture() == SaeArchitecture.TOPK) {
            out.put("k", cfg.k());
            out.put("rescale_acts_by_decoder_norm", cfg.rescaleActsByDecoderNorm());
        } else if (cfg.architecture() == SaeArchitecture.TRANSCODER) {
            out.put("d_out", cfg.dOut());
        }
        out.put("architecture", cfg.architecture().jsonName());
        return out;
    }

    /** {@link #toJson} as the text of a file, spaced and escaped as Python's {@code json.dump} writes it. */
    public static String toText(SaeConfig cfg) {
        try {
            return JSON.writer(new PythonJsonStyle()).with(JsonWriteFeature.ESCAPE_NON_ASCII).writeValueAsString(toJson(cfg));
        } catch (IOException e) {
            throw new LoupeException("Cannot write an SAE config as JSON: " + e.getMessage(), e);
        }
    }

    /** Whether SAELens would treat the config as older than 6.0 ({@code handle_config_defaulting}). */
    private static boolean isPre6(ObjectNode cfg, String where) {
        JsonNode version = cfg.get("sae_lens_version");
        if ((version == null || version.isNull() || version.asText().isEmpty()) && cfg.get("metadata") instanceof ObjectNode m) {
            version = m.get("sae_lens_version");
        }
        if (version == null || version.isNull() || version.asText().isEmpty()) {
            return true;
        }
        String text = version.asText();
        int end = 0;
        while (end < text.length() && Character.isDigit(text.charAt(end))) {
            end++;
        }
        if (end == 0 || end > 6) {
            throw new CheckpointException(where + ": sae_lens_version \"" + text + "\" is not a version number");
        }
        return Integer.parseInt(text.substring(0, end)) < 6;
    }

    /** SAELens's {@code handle_pre_6_0_config}: renames, defaults, topk from activation_fn, metadata. */
    private static ObjectNode pre6(ObjectNode old, String where) {
        ObjectNode cfg = JsonNodeFactory.instance.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = old.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> field = it.next();
            cfg.set(RENAMED.getOrDefault(field.getKey(), field.getKey()), field.getValue());
        }
        putIfAbsent(cfg, "prepend_bos", true);
        putIfAbsent(cfg, "apply_b_dec_to_input", true);
        if (!cfg.has("sae_lens_training_version")) {
            cfg.putNull("sae_lens_training_version");
        }
        if (!cfg.has("activation_fn")) {
            cfg.put("activation_fn", "relu");
        }
        if (!cfg.has("architecture")) {
            cfg.put("architecture", "standard");
        }
        if (!cfg.has("neuronpedia_id")) {
            cfg.putNull("neuronpedia_id");
        }
        if (!cfg.has("reshape_activations")) {
            JsonNode hook = cfg.get("hook_name");
            cfg.put("reshape_activations", hook != null && hook.asText().contains("hook_z") ? "hook_z" : "none");
        }
        JsonNode kwargs = cfg.get("activation_fn_kwargs");
        JsonNode k = kwargs == null ? null : kwargs.get("k");
        if ("topk".equals(cfg.path("activation_fn").asText()) && k != null && !k.isNull()) {
            cfg.put("architecture", "topk");
            cfg.set("k", k);
        }
        JsonNode normalize = cfg.get("normalize_activations");
        if (normalize != null && normalize.isBoolean()) {
            cfg.put("normalize_activations", normalize.asBoolean() ? "expected_average_only_in" : "none");
        } else if (normalize == null || normalize.isNull()) {
            cfg.put("normalize_activations", "none");
        }
        if (!cfg.has("device")) {
            cfg.put("device", "cpu");
        }
        if ("topk".equals(cfg.path("architecture").asText()) && k != null && !k.isNull()) {
            cfg.set("k", k); // SAELens takes a topk SAE's k from activation_fn_kwargs whatever the activation_fn says
        }
        ObjectNode metadata = JsonNodeFactory.instance.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = cfg.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> field = it.next();
            if (METADATA_KEYS.contains(field.getKey())) {
                metadata.set(field.getKey(), field.getValue());
            }
        }
        cfg.set("metadata", metadata);
        return cfg;
    }

    /** SAELens's {@code SAEMetadata(**metadata)}: the two versions first (defaulted), then the rest in order. */
    private static ObjectNode metadata(JsonNode given, String where) {
        if (given != null && !given.isNull() && !given.isObject()) {
            throw new CheckpointException(where + ": metadata must be a JSON object, got " + given.getNodeType());
        }
        Map<String, JsonNode> rest = new LinkedHashMap<>();
        if (given != null) {
            given.fields().forEachRemaining(e -> rest.put(e.getKey(), e.getValue()));
        }
        ObjectNode metadata = JsonNodeFactory.instance.objectNode();
        for (String version : new String[] {"sae_lens_version", "sae_lens_training_version"}) {
            JsonNode value = rest.remove(version);
            metadata.set(version, value != null ? value : JsonNodeFactory.instance.textNode(SaeConfig.SAE_LENS_VERSION));
        }
        rest.forEach(metadata::set);
        for (String hook : new String[] {"hook_name", "hook_name_out"}) {
            JsonNode value = metadata.get(hook);
            if (value != null && !value.isNull() && !value.isTextual()) {
                throw new CheckpointException(where + ": metadata." + hook + " must be a string, got " + value);
            }
        }
        return metadata;
    }

    private static void putIfAbsent(ObjectNode cfg, String key, boolean value) {
        if (!cfg.has(key)) {
            cfg.put(key, value);
        }
    }

    private static String text(ObjectNode cfg, String key, String orElse, String where) {
        JsonNode value = cfg.get(key);
        if (value == null) {
            if (orElse == null) {
                throw new CheckpointException(where + ": " + key + " is missing");
            }
            return orElse;
        }
        if (!value.isTextual()) {
            throw new CheckpointException(where + ": " + key + " must be a string, got " + value);
        }
        return value.asText();
    }

    private static int integer(ObjectNode cfg, String key, Integer orElse, String where) {
        JsonNode value = cfg.get(key);
        if (value == null) {
            if (orElse == null) {
                throw new CheckpointException(where + ": " + key + " is missing");
            }
            return orElse;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() <= 0) {
            throw new CheckpointException(where + ": " + key + " must be a positive integer, got " + value);
        }
        return value.asInt();
    }

    private static boolean bool(ObjectNode cfg, String key, boolean orElse, String where) {
        JsonNode value = cfg.get(key);
        if (value == null) {
            return orElse;
        }
        if (!value.isBoolean()) {
            throw new CheckpointException(where + ": " + key + " must be true or false, got " + value);
        }
        return value.asBoolean();
    }
}
