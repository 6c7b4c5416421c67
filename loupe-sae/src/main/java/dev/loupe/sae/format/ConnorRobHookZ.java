package dev.loupe.sae.format;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.CheckpointException;
import dev.loupe.io.torch.TorchCheckpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The attention-output SAEs of Kissane, Krzyzanowski et al. ("attention SAEs scale to GPT-2 small"), read as
 * SAELens 6.18's {@code connor_rob_hook_z} loader reads them: a PyTorch state dict {@code <name>.pt}
 * ({@code W_enc [d_in, d_sae]}, {@code W_dec [d_sae, d_in]}, {@code b_enc [d_sae]}, {@code b_dec [d_in]}, d_in =
 * n_heads·d_head) beside {@code <name>_cfg.json} ({@code act_size} → d_in, {@code dict_size} → d_sae,
 * {@code act_name} → the hook, {@code blocks.L.attn.hook_z}). The result is a standard SAE on the flattened
 * hook_z with {@code apply_b_dec_to_input true}, no normalisation, and the other values SAELens's loader fixes
 * (model {@code gpt2-small}, dataset, context 128). The checkpoint is read without running code from it.
 */
public final class ConnorRobHookZ {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConnorRobHookZ() {}

    /**
     * Reads {@code weights} ({@code .pt}) with its config file {@code cfgJson}.
     *
     * @param overrides config values that replace the derived ones (SAELens's {@code cfg_overrides}), or null
     * @param manager owns the tensors
     * @throws CheckpointException if a file is missing or malformed, naming it and the field
     */
    public static SaeFiles.Contents convert(Path weights, Path cfgJson, ObjectNode overrides, NDManager manager) {
        ObjectNode cfg = config(readJson(cfgJson), cfgJson.toString());
        if (overrides != null) {
            cfg.setAll(overrides.deepCopy());
        }
        SaeConfig parsed = SaeConfigJson.read(cfg, cfgJson + " (converted config)");
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(weights)) {
            for (String name : checkpoint.names()) {
                tensors.put(name, checkpoint.load(name, manager));
            }
        }
        return new SaeFiles.Contents(parsed, SaeFiles.check(parsed, tensors, weights.toString()));
    }

    /** The config file's name beside a weights file, as SAELens forms it: up to the first {@code .pt}, then {@code _cfg.json}. */
    public static String configName(String weightsName) {
        int end = weightsName.indexOf(".pt");
        return (end < 0 ? weightsName : weightsName.substring(0, end)) + "_cfg.json";
    }

    /** The flat (pre-6.0 style) config SAELens's loader builds from the original one, before its defaulting. */
    static ObjectNode config(JsonNode old, String where) {
        ObjectNode cfg = JsonNodeFactory.instance.objectNode();
        cfg.put("architecture", "standard");
        cfg.set("d_in", required(old, "act_size", where));
        cfg.set("d_sae", required(old, "dict_size", where));
        cfg.put("dtype", "float32");
        cfg.put("device", "cpu");
        cfg.put("model_name", "gpt2-small");
        cfg.set("hook_name", required(old, "act_name", where));
        cfg.putNull("hook_head_index");
        cfg.put("activation_fn", "relu");
        cfg.put("apply_b_dec_to_input", true);
        cfg.put("finetuning_scaling_factor", false);
        cfg.putNull("sae_lens_training_version");
        cfg.put("prepend_bos", true);
        cfg.put("dataset_path", "Skylion007/openwebtext");
        cfg.put("context_size", 128);
        cfg.put("normalize_activations", "none");
        cfg.put("dataset_trust_remote_code", true);
        cfg.put("reshape_activations", "hook_z");
        return cfg;
    }

    private static JsonNode required(JsonNode old, String key, String where) {
        JsonNode value = old.get(key);
        if (value == null || value.isNull()) {
            throw new CheckpointException(where + ": \"" + key + "\" is missing; this SAE format's config names act_size,"
                    + " dict_size and act_name");
        }
        return value;
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + " is missing: this SAE format keeps its config beside the .pt file");
        }
        try {
            JsonNode root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
            if (!(root instanceof ObjectNode)) {
                throw new CheckpointException(file + ": expected a JSON object");
            }
            return root;
        } catch (IOException e) {
            throw new CheckpointException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }
}
