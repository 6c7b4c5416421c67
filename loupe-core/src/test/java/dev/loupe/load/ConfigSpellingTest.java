package dev.loupe.load;

import static dev.loupe.testing.TensorAssert.assertClose;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The transformers-4 spelling of rope settings ({@code rope_scaling} + {@code rope_theta}) loads to the same model. */
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
}
