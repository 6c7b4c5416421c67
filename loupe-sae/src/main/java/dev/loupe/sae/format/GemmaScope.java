package dev.loupe.sae.format;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.CheckpointException;
import dev.loupe.numeric.FilledArrays;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Gemma Scope's {@code params.npz} (Google's layout: {@code W_enc [d_in, d_sae]}, {@code W_dec [d_sae, d_in]},
 * {@code b_enc}, {@code b_dec}, {@code threshold}) converted as SAELens 6.18's {@code gemma_2} loader
 * converts it: a JumpReLU SAE with {@code apply_b_dec_to_input false} and no normalisation; the model and
 * d_in from the repository id ({@code gemma-scope-2b-pt-res} → gemma-2-2b, 2304), the hook from the
 * repository kind and the folder's {@code layer_N} ({@code -res} → {@code blocks.N.hook_resid_post},
 * {@code -mlp} → {@code hook_mlp_out}, {@code -att} → {@code attn.hook_z} with its own d_in; an
 * {@code embedding} folder → {@code hook_embed}, with W_enc/√d_in and W_dec·√d_in), d_sae from
 * {@code width_16k} etc. The tensors are otherwise copied unchanged (keys {@code w_…} renamed {@code W_…}).
 */
public final class GemmaScope {
    private static final Map<String, Integer> WIDTHS = widths();
    /** Model key in the repository id → (model name, d_in, d_in of attention SAEs), in SAELens's order. */
    private static final List<String[]> MODELS = List.of(
            new String[] {"2b-it", "gemma-2-2b-it", "2304", "2048"},
            new String[] {"9b-it", "gemma-2-9b-it", "3584", "4096"},
            new String[] {"27b-it", "gemma-2-27b-it", "4608", "4608"},
            new String[] {"2b", "gemma-2-2b", "2304", "2048"},
            new String[] {"9b", "gemma-2-9b", "3584", "4096"},
            new String[] {"27b", "gemma-2-27b", "4608", "4608"});
    private static final Pattern LAYER = Pattern.compile("layer_(\\d+)");

    private GemmaScope() {}

    /**
     * Converts {@code npz}.
     *
     * @param repoId the Hub repository it comes from ({@code google/gemma-scope-2b-pt-res})
     * @param folder its folder there ({@code layer_0/width_16k/average_l0_105})
     * @param overrides config values that replace the derived ones (SAELens's {@code cfg_overrides}), or null
     * @param manager owns the tensors
     * @throws CheckpointException if the names say nothing SAELens understands, or the file is malformed
     */
    public static SaeFiles.Contents convert(Path npz, String repoId, String folder, ObjectNode overrides,
            NDManager manager) {
        ObjectNode cfg = config(repoId, folder, npz.toString());
        if (overrides != null) {
            cfg.setAll(overrides);
        }
        SaeConfig parsed = SaeConfigJson.read(cfg, npz + " (converted config)");
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, NpyArray> entry : NpzReader.read(npz).entrySet()) {
            String key = entry.getKey().startsWith("w_") ? "W_" + entry.getKey().substring(2) : entry.getKey();
            // In libtorch's memory, not a direct buffer (counted against -XX:MaxDirectMemorySize, freed only by a GC).
            tensors.put(key, FilledArrays.of(manager, entry.getValue().data(), new Shape(entry.getValue().shape())));
        }
        Map<String, NDArray> checked = SaeFiles.check(parsed, tensors, npz.toString());
        if (folder.contains("embedding")) {
            // Google trained embedding SAEs on embeddings scaled by √d_model; SAELens undoes that in the weights.
            float root = (float) Math.sqrt(parsed.dIn());
            checked.put("W_enc", checked.get("W_enc").div(root));
            checked.put("W_dec", checked.get("W_dec").mul(root));
        }
        return new SaeFiles.Contents(parsed, checked);
    }

    /** The flat (pre-6.0 style) config dict SAELens's loader builds, before its defaulting. */
    static ObjectNode config(String repoId, String folder, String where) {
        Integer dSae = null;
        for (Map.Entry<String, Integer> width : WIDTHS.entrySet()) {
            if (folder.contains(width.getKey())) {
                dSae = width.getValue();
                break;
            }
        }
        Matcher layerMatch = LAYER.matcher(folder);
        int layer;
        if (layerMatch.find()) {
            layer = Integer.parseInt(layerMatch.group(1));
        } else if (folder.contains("embedding")) {
            layer = 0;
        } else {
            throw new CheckpointException(where + ": no layer_N in the folder name \"" + folder + "\"");
        }
        String[] model = MODELS.stream().filter(m -> repoId.contains(m[0])).findFirst().orElseThrow(() ->
                new CheckpointException(where + ": no Gemma 2 model size (2b, 9b, 27b, -it) in the repository id \""
                        + repoId + "\""));
        int dIn = Integer.parseInt(model[2]);
        String hook;
        if (repoId.contains("res") && !folder.contains("embedding")) {
            hook = "blocks." + layer + ".hook_resid_post";
        } else if (repoId.contains("res")) {
            hook = "hook_embed";
        } else if (repoId.contains("mlp")) {
            hook = "blocks." + layer + ".hook_mlp_out";
        } else if (repoId.contains("att")) {
            hook = "blocks." + layer + ".attn.hook_z";
            dIn = Integer.parseInt(model[3]);
        } else {
            throw new CheckpointException(where + ": the repository id \"" + repoId + "\" names no hook kind (res, mlp, att)");
        }
        ObjectNode cfg = JsonNodeFactory.instance.objectNode();
        cfg.put("architecture", "jumprelu");
        cfg.put("d_in", dIn);
        if (dSae == null) {
            cfg.putNull("d_sae"); // SAELens fails later too; the config reader names the field
        } else {
            cfg.put("d_sae", dSae);
        }
        cfg.put("dtype", "float32");
        cfg.put("model_name", model[1]);
        cfg.put("hook_name", hook);
        cfg.putNull("hook_head_index");
        cfg.put("activation_fn", "relu");
        cfg.put("finetuning_scaling_factor", false);
        cfg.putNull("sae_lens_training_version");
        cfg.put("prepend_bos", true);
        cfg.put("dataset_path", "monology/pile-uncopyrighted");
        cfg.put("context_size", 1024);
        cfg.put("dataset_trust_remote_code", true);
        cfg.put("apply_b_dec_to_input", false);
        cfg.putNull("normalize_activations");
        cfg.put("device", "cpu");
        return cfg;
    }

    private static Map<String, Integer> widths() {
        Map<String, Integer> widths = new LinkedHashMap<>();
        widths.put("width_4k", 4096);
        widths.put("width_16k", 16384);
        widths.put("width_32k", 32768);
        widths.put("width_65k", 65536);
        widths.put("width_131k", 131072);
        widths.put("width_262k", 262144);
        widths.put("width_524k", 524288);
        widths.put("width_1m", 1048576);
        return widths;
    }
}
