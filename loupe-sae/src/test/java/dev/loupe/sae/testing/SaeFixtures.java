package dev.loupe.sae.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The SAELens fixtures copied into {@code testdata/sae} (see its README), the models they were made on
 * (loaded unprocessed, as SAELens loads them, once per test class), and the README's tolerance.
 */
public final class SaeFixtures implements AutoCloseable {
    /** Every single-SAE entry but the transcoder. */
    public static final String[] SAES = {"gpt2/standard_resid_pre_l0", "gpt2/topk_resid_post_l1",
        "gpt2/topk_mlp_out_l0_fewpos", "gpt2/jumprelu_z_l0", "gpt2/gated_mlp_out_l1",
        "gpt2/standard_resid_post_l0_normrescale", "llama/standard_resid_post_l0", "llama/topk_z_l1",
        "llama/jumprelu_mlp_out_l1", "llama/standard_resid_pre_l1_layernorm", "llama/gated_resid_pre_l1",
        "gemma2/gemmascope_res_l0"};

    private final NDManager manager = NDManager.newBaseManager();
    private final Map<String, HookedTransformer> models = new HashMap<>();

    /** The folder of an entry ({@code gpt2/jumprelu_z_l0}). */
    public static Path entry(String name) {
        return Fixtures.ROOT.resolve("sae").resolve(name);
    }

    /** The SAE folder of an entry (Gemma Scope's converted one for the npz entry). */
    public static Path saeDir(String name) {
        Path dir = entry(name);
        return name.startsWith("gemma2/") ? dir.resolve("converted") : dir;
    }

    /** The entry's {@code reference.json}. */
    public static JsonNode referenceJson(String name) {
        return Fixtures.json(entry(name).resolve("reference.json"));
    }

    /** The README's tolerance: 1e-4 · max(1, max|ref|). */
    public static double tolerance(NDArray reference) {
        return 1e-4 * Math.max(1, reference.abs().max().getFloat());
    }

    public NDManager manager() {
        return manager;
    }

    /** The entry's {@code reference.safetensors}. */
    public Map<String, NDArray> reference(String name) {
        return Fixtures.readAll(entry(name).resolve("reference.safetensors"), manager);
    }

    /** The model an entry was made on ({@code gpt2}, {@code llama}, {@code gemma2}), unprocessed. */
    public HookedTransformer model(String name) {
        String arch = name.substring(0, name.indexOf('/'));
        return models.computeIfAbsent(arch, a -> HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(a)));
    }

    @Override
    public void close() {
        models.values().forEach(HookedTransformer::close);
        manager.close();
    }
}
