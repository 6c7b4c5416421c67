package dev.loupe.lens;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import dev.loupe.config.WeightProcessingStep;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A tuned lens's {@code config.json}: the Python library's {@code TunedLensConfig} keys, plus three
 * of Loupe's (which the Python library ignores with a warning when it reads the file).
 *
 * @param baseModelNameOrPath {@code base_model_name_or_path}: the model it was trained on
 * @param dModel {@code d_model}
 * @param numHiddenLayers {@code num_hidden_layers}: one translator per layer
 * @param bias {@code bias}: whether translators have a bias
 * @param baseModelRevision {@code base_model_revision}, or null
 * @param unembedHash {@code unembed_hash}: the Python library's hash of numpy's printed summary of
 *     {@code W_U}; kept as it is, never checked (it cannot be reproduced outside numpy)
 * @param lensType {@code lens_type}: {@code linear_tuned_lens}
 * @param unembedFingerprint {@code unembed_fingerprint} (Loupe): see {@link Unembedding#fingerprint()};
 *     null in lenses the Python library wrote
 * @param basis {@code weight_processing} (Loupe): the processing of the residual it was trained on;
 *     absent (Hugging Face's basis) in lenses the Python library wrote
 * @param hook {@code hook} (Loupe): the residual stream it reads; absent means {@code resid_pre}
 */
public record TunedLensConfig(String baseModelNameOrPath, int dModel, int numHiddenLayers, boolean bias,
        String baseModelRevision, String unembedHash, String lensType, String unembedFingerprint, LensBasis basis,
        LensHook hook) {
    /** The only lens type the Python library writes. */
    public static final String LINEAR_TUNED_LENS = "linear_tuned_lens";

    private static final ObjectMapper JSON = new ObjectMapper();

    public TunedLensConfig {
        if (dModel <= 0 || numHiddenLayers <= 0) {
            throw new LoupeException("A tuned lens needs d_model > 0 and num_hidden_layers > 0, got d_model " + dModel
                    + ", num_hidden_layers " + numHiddenLayers);
        }
        lensType = lensType == null ? LINEAR_TUNED_LENS : lensType;
        if (!lensType.equals(LINEAR_TUNED_LENS)) {
            throw new LoupeException("Unsupported lens_type '" + lensType + "': Loupe reads " + LINEAR_TUNED_LENS
                    + " lenses (one affine translator per layer)");
        }
        basis = basis == null ? LensBasis.HUGGING_FACE : basis;
        hook = hook == null ? LensHook.RESID_PRE : hook;
    }

    /**
     * Reads config.json as the Python library writes it; unknown keys (such as the old typo
     * {@code unemebd_hash}) are ignored, as {@code TunedLensConfig.from_dict} ignores them.
     */
    public static TunedLensConfig fromJson(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new LoupeException(source + " is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new LoupeException(source + " is not a JSON object; a tuned lens config.json holds d_model,"
                    + " num_hidden_layers, ...");
        }
        for (String required : new String[] {"d_model", "num_hidden_layers"}) {
            if (!root.path(required).canConvertToInt()) {
                throw new LoupeException(source + " has no integer \"" + required + "\"; is this a tuned lens's"
                        + " config.json?");
            }
        }
        List<WeightProcessingStep> processing = null;
        if (root.path("weight_processing").isArray()) {
            processing = new ArrayList<>();
            for (JsonNode step : root.get("weight_processing")) {
                try {
                    processing.add(WeightProcessingStep.fromJson(step.asText()));
                } catch (LoupeException e) {
                    throw new LoupeException(source + ": " + e.getMessage(), e);
                }
            }
        }
        return new TunedLensConfig(text(root, "base_model_name_or_path"), root.get("d_model").asInt(),
                root.get("num_hidden_layers").asInt(), root.path("bias").asBoolean(true),
                text(root, "base_model_revision"), text(root, "unembed_hash"), text(root, "lens_type"),
                text(root, "unembed_fingerprint"), processing == null ? null : new LensBasis(processing),
                root.hasNonNull("hook") ? LensHook.fromKey(root.get("hook").asText()) : null);
    }

    /** config.json: the Python library's keys in its order, then Loupe's. */
    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("base_model_name_or_path", baseModelNameOrPath);
        root.put("d_model", dModel);
        root.put("num_hidden_layers", numHiddenLayers);
        root.put("bias", bias);
        root.put("base_model_revision", baseModelRevision);
        root.put("unembed_hash", unembedHash);
        root.put("lens_type", lensType);
        root.put("unembed_fingerprint", unembedFingerprint);
        ArrayNode steps = root.putArray("weight_processing");
        basis.weightProcessing().forEach(step -> steps.add(step.jsonName()));
        root.put("hook", hook.key());
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new LoupeException("Cannot write the lens config as JSON: " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode root, String key) {
        JsonNode value = root.get(key);
        return value == null || value.isNull() ? null : value.asText();
    }
}
