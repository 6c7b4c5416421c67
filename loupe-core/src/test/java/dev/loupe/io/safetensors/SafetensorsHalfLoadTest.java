package dev.loupe.io.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.numeric.Float16RangeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link SafetensorsFile#loadHalf}: the old whole-tensor narrowing, bit for bit, with every value checked. */
class SafetensorsHalfLoadTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gpt2/model.safetensors", "extra/gpt2_bf16/model.safetensors",
        "extra/gpt2_f16/model.safetensors"})
    void everyTensorEqualsTheFloat32LoadNarrowedByLibtorch(String fixture) {
        for (boolean privateMapping : new boolean[] {true, false}) {
            try (NDManager manager = NDManager.newBaseManager();
                    SafetensorsFile file = SafetensorsFile.open(TestFiles.MODELS.resolve(fixture), privateMapping)) {
                for (String name : file.names()) {
                    NDArray half = file.loadHalf(name, manager);
                    NDArray old = file.load(name, manager).toType(DataType.FLOAT16, false);
                    assertThat(half.getDataType()).isEqualTo(DataType.FLOAT16);
                    assertThat(half.getShape()).isEqualTo(old.getShape());
                    assertThat(half.toByteBuffer()).as(name).isEqualTo(old.toByteBuffer());
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} among values of magnitude {1}")
    @CsvSource({"70000, 0.01", "-65536, 0.01", "1e-30, 1e-7", "-2.9802322e-8, 1e-7"})
    void aTensorFloat16CannotHoldStopsTheLoadNamingIt(float misfit, float scale) {
        // 6 MiB: the misfit sits last, after many good values, in the second 4 MiB chunk.
        int n = 3 * 1024 * 1024;
        Path path = bf16Tensor(n, scale, misfit);
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(path)) {
            assertThatThrownBy(() -> file.loadHalf("w", manager))
                    .isInstanceOf(Float16RangeException.class)
                    .hasMessageContaining("tensor 'w'")
                    .hasMessageContaining(Math.abs(misfit) > 1 ? "infinite" : "become 0")
                    .satisfies(e -> assertThat(((Float16RangeException) e).value())
                            .isEqualTo(Float.intBitsToFloat(Float.floatToRawIntBits(misfit) & 0xffff0000)));
            assertThat(manager.getManagedArrays()).as("the half-filled array is freed").isEmpty();
            NDArray kept = file.load("w", manager);
            assertThat(kept.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(kept.get(n - 1).getFloat()).isNotZero().isFinite();
        }
    }

    @Test
    void aTinyValueAmongLargerOnesBecomesZeroAsLibtorchWouldMakeIt() {
        Path path = bf16Tensor(1000, 0.01f, 1e-30f);
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(path)) {
            NDArray half = file.loadHalf("w", manager);
            assertThat(half.get(999).toType(DataType.FLOAT32, false).getFloat()).isZero();
            assertThat(half.toByteBuffer()).isEqualTo(file.load("w", manager).toType(DataType.FLOAT16, false).toByteBuffer());
        }
    }

    /** A BF16 tensor "w" of {@code n} values: magnitudes up to 500 × {@code scale}, then {@code last}. */
    private Path bf16Tensor(int n, float scale, float last) {
        ByteBuffer data = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n - 1; i++) {
            data.putShort((short) (Float.floatToRawIntBits((i % 1000 - 500) * scale) >>> 16));
        }
        data.putShort((short) (Float.floatToRawIntBits(last) >>> 16));
        return TestFiles.raw(dir.resolve("w.safetensors"), TestFiles.padded(
                "{\"w\":{\"dtype\":\"BF16\",\"shape\":[" + n + "],\"data_offsets\":[0," + 2 * n + "]}}"), data.array());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(floats = {65504f, 65519f, -6e-8f, 0f, Float.POSITIVE_INFINITY})
    void valuesFloat16CanHoldLoad(float edge) {
        Path path = TestFiles.raw(dir.resolve("edge.safetensors"), TestFiles.padded(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"), TestFiles.littleEndianFloats(edge, 1f));
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(path)) {
            NDArray half = file.loadHalf("w", manager);
            assertThat(half.toByteBuffer()).isEqualTo(file.load("w", manager).toType(DataType.FLOAT16, false).toByteBuffer());
        }
    }
}
