package dev.loupe.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad model folders fail with a message that names the problem and the fix. */
class ModelLoaderTest {
    @TempDir
    Path dir;

    private Path copyOfGpt2() throws IOException {
        for (String file : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(Fixtures.model("gpt2").resolve(file), dir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
        return dir;
    }

    private void editConfig(String from, String to) throws IOException {
        Path config = dir.resolve("config.json");
        String text = Files.readString(config);
        assertThat(text).contains(from);
        Files.writeString(config, text.replace(from, to));
    }

    @Test
    void loadsACopiedFolder() throws IOException {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(copyOfGpt2())) {
            assertThat(model.config().modelName()).isEqualTo(dir.getFileName().toString());
            assertThat(model.stateDict()).containsKeys("embed.W_E", "blocks.1.attn.W_Q", "unembed.W_U");
            assertThat(model.stateDict().get("blocks.0.attn.W_Q").getShape().toString()).isEqualTo("(4, 32, 8)");
        }
    }

    @Test
    void anUnsupportedArchitectureListsTheSupportedOnes() throws IOException {
        copyOfGpt2();
        editConfig("\"model_type\": \"gpt2\"", "\"model_type\": \"mamba\"");
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("Unsupported architecture: model_type 'mamba'")
                .hasMessageContaining("Supported: gpt2");
    }

    @Test
    void missingFolderConfigOrWeights() throws IOException {
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir.resolve("nope")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("No config.json");
        Path weightsFile = Files.copy(Fixtures.model("gpt2").resolve("model.safetensors"), dir.resolve("w.safetensors"));
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(weightsFile))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("is a file, not a model folder; pass the folder that holds config.json");
        Files.delete(weightsFile);
        Files.copy(Fixtures.model("gpt2").resolve("config.json"), dir.resolve("config.json"));
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("No weights")
                .hasMessageContaining("model.safetensors.index.json")
                .hasMessageContaining("pytorch_model.bin");
        Files.writeString(dir.resolve("pytorch_model.bin"), "not really");
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("not a PyTorch checkpoint");
    }

    @Test
    void aTruncatedCheckpointIsNamedAsSuch() throws IOException {
        copyOfGpt2();
        Path weights = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length - 1000));
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("truncated");
    }

    @Test
    void weightsThatDoNotMatchTheConfig() throws IOException {
        copyOfGpt2();
        editConfig("\"n_head\": 4", "\"n_head\": 8");
        editConfig("\"n_embd\": 32", "\"n_embd\": 64");
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("shape");
    }

    @Test
    void malformedConfigJson() throws IOException {
        copyOfGpt2();
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", ");
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("not valid JSON");
        Files.writeString(dir.resolve("config.json"), "{\"n_layer\": 2}");
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("model_type");
    }
}
