package dev.loupe.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.CheckpointException;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.io.torch.TorchCheckpoint;
import dev.loupe.io.torch.TorchCheckpointWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A model whose weight file holds an integer or bool tensor where a parameter should be is refused
 * when the model is loaded, naming the file, the tensor and its dtype; the same tensors stay
 * readable from the file itself, where they are token ids or masks.
 */
class IntegerWeightsTest {
    private static final String TENSOR = "transformer.h.0.attn.c_attn.weight";

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"INT64", "INT32", "INT8", "UINT8", "BOOLEAN"})
    void anIntegerOrBoolParameterInSafetensorsIsRefusedAtLoad(DataType type) throws IOException {
        Path model = copyOfGpt2();
        Path weights = model.resolve("model.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Fixtures.readAll(weights, manager);
            tensors.put(TENSOR, tensors.get(TENSOR).toType(type, false));
            SafetensorsWriter.write(weights, tensors);
        }

        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(model))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(weights.toString())
                .hasMessageContaining("tensor '" + TENSOR + "'")
                .hasMessageContaining("dtype " + safetensorsName(type))
                .hasMessageContaining("a model's weights must be floating point");
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(weights)) {
            assertThat(file.load(TENSOR, manager).getDataType()).isEqualTo(type);
        }
    }

    @Test
    void anIntegerParameterInAPytorchCheckpointIsRefusedAtLoad() throws IOException {
        Path model = copyOfGpt2();
        Path weights = model.resolve("model.safetensors");
        Path bin = model.resolve("pytorch_model.bin");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Fixtures.readAll(weights, manager);
            tensors.put(TENSOR, tensors.get(TENSOR).toType(DataType.INT64, false));
            TorchCheckpointWriter.write(bin, tensors);
        }
        Files.delete(weights);

        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(model))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(bin.toString())
                .hasMessageContaining("tensor '" + TENSOR + "' has dtype int64")
                .hasMessageContaining("must be floating point");
        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint file = TorchCheckpoint.open(bin)) {
            assertThat(file.load(TENSOR, manager).getDataType()).isEqualTo(DataType.INT64);
        }
    }

    @Test
    void floatingPointWeightsInEveryStoredDtypeStillLoad() {
        for (String folder : new String[] {"gpt2", "extra/gpt2_bf16", "extra/gpt2_f16"}) {
            try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(folder))) {
                assertThat(model.config().nLayers()).isEqualTo(2);
            }
        }
    }

    private Path copyOfGpt2() throws IOException {
        Path model = Files.createDirectories(dir.resolve("gpt2"));
        try (var files = Files.list(Fixtures.model("gpt2"))) {
            for (Path file : files.toList()) {
                Files.copy(file, model.resolve(file.getFileName()));
            }
        }
        return model;
    }

    private static String safetensorsName(DataType type) {
        return switch (type) {
            case INT64 -> "I64";
            case INT32 -> "I32";
            case INT8 -> "I8";
            case UINT8 -> "U8";
            case BOOLEAN -> "BOOL";
            default -> throw new IllegalArgumentException(type.toString());
        };
    }
}
