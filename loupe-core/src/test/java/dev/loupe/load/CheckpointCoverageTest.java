package dev.loupe.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.CheckpointException;
import dev.loupe.config.WeightDtype;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every tensor of a checkpoint must be accounted for by its config (issue 19, item 7): a config with
 * fewer layers than its weights, or a tensor no adapter reads, is refused rather than loaded as another model.
 */
class CheckpointCoverageTest {
    @TempDir
    Path dir;

    private Path copy(String model) throws IOException {
        for (String file : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(Fixtures.model(model).resolve(file), dir.resolve(file));
        }
        return dir;
    }

    private void editConfig(String from, String to) throws IOException {
        Path config = dir.resolve("config.json");
        String text = Files.readString(config);
        assertThat(text).contains(from);
        Files.writeString(config, text.replace(from, to));
    }

    /** Rewrites the copied weights with {@code edit} applied to their tensors. */
    private void editWeights(BiConsumer<Map<String, NDArray>, NDManager> edit) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Fixtures.readAll(dir.resolve("model.safetensors"), manager);
            edit.accept(tensors, manager);
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors);
        }
    }

    @Test
    void gpt2WithFewerLayersInTheConfigIsRefusedNamingBothCounts() throws IOException {
        copy("gpt2");
        editConfig("\"n_layer\": 2", "\"n_layer\": 1");
        assertThatThrownBy(() -> ModelLoader.read(dir, WeightDtype.FLOAT32))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("h.1.")
                .hasMessageContaining("says the model has 1 layers")
                .hasMessageContaining("at least 2 layers")
                .hasMessageContaining("more");
    }

    @Test
    void llamaWithFewerLayersInTheConfigIsRefusedNamingBothCounts() throws IOException {
        copy("llama");
        editConfig("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1");
        assertThatThrownBy(() -> ModelLoader.read(dir, WeightDtype.FLOAT32))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.layers.1.")
                .hasMessageContaining("1 layers")
                .hasMessageContaining("at least 2 layers");
    }

    @Test
    void aTensorNoAdapterReadsIsRefusedButKnownBuffersAreNot() throws IOException {
        copy("gpt2");
        editWeights((tensors, manager) -> {
            tensors.put("transformer.h.0.attn.bias", manager.ones(new Shape(1, 1, 4, 4)));
            tensors.put("transformer.h.0.attn.masked_bias", manager.create(-1e4f));
            tensors.put("transformer.h.0.attn.rotary_emb.inv_freq", manager.ones(new Shape(4)));
        });
        ModelLoader.read(dir, WeightDtype.FLOAT32).close();

        editWeights((tensors, manager) -> tensors.put("transformer.h.0.attn.adapter.weight", manager.ones(new Shape(4))));
        assertThatThrownBy(() -> ModelLoader.read(dir, WeightDtype.FLOAT32))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("1 tensor that the gpt2 config does not use: transformer.h.0.attn.adapter.weight")
                .hasMessageContaining("does not describe these weights");
    }

    @Test
    void aTensorOfAnotherShapeThanTheConfigImpliesIsRefusedNamingIt() throws IOException {
        copy("llama");
        editConfig("\"num_attention_heads\": 4", "\"num_attention_heads\": 2");
        editConfig("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 1");
        assertThatThrownBy(() -> ModelLoader.read(dir, WeightDtype.FLOAT32))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("Tensor layers.0.self_attn.q_proj.weight has shape (32, 32),")
                .hasMessageContaining("but config.json implies [16, any]");
    }

    @Test
    void aMissingTensorIsRefusedNamingIt() throws IOException {
        copy("llama");
        editWeights((tensors, manager) -> tensors.remove("model.layers.1.mlp.up_proj.weight"));
        assertThatThrownBy(() -> ModelLoader.read(dir, WeightDtype.FLOAT32))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("has no tensor model.layers.1.mlp.up_proj.weight");
    }

    @Test
    void everyFixtureFolderStillLoads() throws IOException {
        List<Path> folders = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(Fixtures.ROOT.resolve("models"))) {
            walk.filter(p -> Files.isRegularFile(p.resolve("config.json"))).forEach(folders::add);
        }
        folders.add(Fixtures.ROOT.getParent().resolve("models/induction-2l"));
        folders.add(Fixtures.ROOT.getParent().resolve("models/attn-only-1l"));
        assertThat(folders).hasSizeGreaterThan(25);
        for (Path folder : folders) {
            ModelLoader.read(folder, WeightDtype.FLOAT32).close();
        }
    }
}
