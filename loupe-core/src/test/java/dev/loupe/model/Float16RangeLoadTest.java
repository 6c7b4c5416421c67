package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.config.WeightDtype;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.TensorInfo;
import dev.loupe.process.ProcessOptions;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bfloat16 checkpoint with values float16 cannot hold, loaded with float16 weights: those tensors stay
 * float32, the load says which in one line, and the model computes what the float32 load computes.
 */
class Float16RangeLoadTest {
    @TempDir
    Path dir;

    @Test
    void tensorsFloat16CannotHoldStayFloat32AndTheLogitsStayThoseOfTheFloat32Load() throws IOException {
        Path folder = copyOf(Fixtures.model("extra/gpt2_bf16"));
        // Position 100 is past the 16 tokens of the input, so 70000 there is held but never used.
        plant(folder.resolve("model.safetensors"), "transformer.wpe.weight", 100 * 32 + 5, 70000f);
        // A flush to 0 among values of ordinary size costs no more than float16's rounding: narrowed.
        plant(folder.resolve("model.safetensors"), "transformer.wte.weight", 500 * 32 + 3, 1e-30f);
        // A tensor of values all below float16's normal range, one of which would become 0: kept.
        for (int i = 0; i < 32; i++) {
            plant(folder.resolve("model.safetensors"), "transformer.ln_f.bias", i, i == 0 ? 1e-30f : 1e-6f);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model("extra/gpt2_bf16").resolve("reference.safetensors"), manager)
                    .get("input_ids");
            for (ProcessOptions processing : List.of(ProcessOptions.none(), ProcessOptions.defaults())) {
                try (HookedTransformer half = HookedTransformer.fromPretrained(folder, processing, WeightDtype.FLOAT16);
                     HookedTransformer full = HookedTransformer.fromPretrained(folder, processing, WeightDtype.FLOAT32)) {
                    assertThat(half.loadWarnings()).singleElement().asString()
                            .contains("kept 2 of 28 tensors in float32")
                            .contains("transformer.wpe.weight (69632.0)", "transformer.ln_f.bias (9.984021E-31)")
                            .doesNotContain("wte");
                    assertThat(full.loadWarnings()).isEmpty();
                    assertThat(half.stateDict().get("pos_embed.W_pos").getDataType()).isEqualTo(DataType.FLOAT32);
                    assertThat(half.stateDict().get("embed.W_E").getDataType()).isEqualTo(DataType.FLOAT16);
                    assertThat(half.stateDict().get("blocks.0.attn.W_Q").getDataType()).isEqualTo(DataType.FLOAT16);
                    NDArray halfLogits = half.forward(tokens);
                    assertThat(halfLogits.isInfinite().any().getBoolean()).isFalse();
                    assertThat(halfLogits.isNaN().any().getBoolean()).isFalse();
                    // Processing computes with the float16 weights and rounds its results to float16 (as it did
                    // before), which moves these logits by ~1e-2; unprocessed, the weights are the same numbers.
                    assertClose("logits", halfLogits, full.forward(tokens), processing.foldLn() ? 0.05 : 1e-4);
                }
            }
        }
    }

    private Path copyOf(Path fixture) throws IOException {
        Path folder = Files.createDirectories(dir.resolve(fixture.getFileName()));
        for (String file : List.of("config.json", "model.safetensors")) {
            Files.copy(fixture.resolve(file), folder.resolve(file));
        }
        return folder;
    }

    /** Writes {@code value}, rounded to bfloat16 by truncation, over element {@code index} of a BF16 tensor. */
    private static void plant(Path file, String name, int index, float value) throws IOException {
        TensorInfo info;
        try (SafetensorsFile reader = SafetensorsFile.open(file)) {
            info = reader.info(name);
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(length, 0);
            long dataStart = 8 + length.flip().getLong();
            ByteBuffer bits = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN)
                    .putShort((short) (Float.floatToRawIntBits(value) >>> 16)).flip();
            channel.write(bits, dataStart + info.begin() + 2L * index);
        }
    }
}
