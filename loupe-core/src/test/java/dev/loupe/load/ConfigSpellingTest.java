package dev.loupe.load;

import static dev.loupe.testing.TensorAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Other spellings of the same model load to the same model: the transformers-4 spelling of rope settings
 * ({@code rope_scaling} + {@code rope_theta}), and Mixtral's experts in the fused layout transformers 5
 * keeps in memory.
 */
class ConfigSpellingTest {

    @Test
    void llama3RopeScalingInTheOldSpellingGivesTheSameLogits(@TempDir Path dir) throws IOException {
        Path source = Fixtures.model("extra/llama3_rope_scaling");
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(source.resolve("config.json").toFile());
        ObjectNode parameters = (ObjectNode) config.remove("rope_parameters");
        config.put("rope_theta", parameters.remove("rope_theta").asDouble());
        config.set("rope_scaling", parameters);
        json.writeValue(dir.resolve("config.json").toFile(), config);
        Files.copy(source.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir)) {
            Map<String, NDArray> reference = Fixtures.readAll(source.resolve("reference.safetensors"), manager);
            assertClose("logits", model.forward(reference.get("input_ids")), reference.get("logits"), 1e-4);
        }
    }

    @Test
    void mixtralExpertsFusedAsTransformers5KeepsThemGiveTheSameLogits(@TempDir Path dir) throws IOException {
        Path source = Fixtures.model("mixtral");
        Files.copy(source.resolve("config.json"), dir.resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> hub = Fixtures.readAll(source.resolve("model.safetensors"), manager);
            Map<String, NDArray> fused = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> entry : hub.entrySet()) {
                if (!entry.getKey().contains("block_sparse_moe")) {
                    fused.put(entry.getKey(), entry.getValue());
                }
            }
            for (int l = 0; l < 2; l++) {
                String moe = "model.layers." + l + ".block_sparse_moe.";
                NDList gateUp = new NDList();
                NDList down = new NDList();
                for (int e = 0; e < 4; e++) {
                    String expert = moe + "experts." + e + ".";
                    gateUp.add(NDArrays.concat(new NDList(hub.get(expert + "w1.weight"), hub.get(expert + "w3.weight")), 0));
                    down.add(hub.get(expert + "w2.weight"));
                }
                String mlp = "model.layers." + l + ".mlp.";
                fused.put(mlp + "gate.weight", hub.get(moe + "gate.weight"));
                fused.put(mlp + "experts.gate_up_proj", NDArrays.stack(gateUp)); // [E, 2 * d_mlp, d_model]
                fused.put(mlp + "experts.down_proj", NDArrays.stack(down)); // [E, d_model, d_mlp]
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), fused);
            Map<String, NDArray> reference = Fixtures.readAll(source.resolve("reference.safetensors"), manager);
            try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir)) {
                assertClose("logits", model.forward(reference.get("input_ids")), reference.get("logits"), 1e-4);
            }
        }
    }
}
