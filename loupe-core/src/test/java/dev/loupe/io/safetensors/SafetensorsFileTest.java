package dev.loupe.io.safetensors;

import static dev.loupe.io.safetensors.TestFiles.GPT2_BF16;
import static dev.loupe.io.safetensors.TestFiles.GPT2_F16;
import static dev.loupe.io.safetensors.TestFiles.GPT2_F32;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafetensorsFileTest {
    private static final String WTE = "transformer.wte.weight";

    @TempDir
    Path dir;

    @Test
    void readsTheFloat32Fixture() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile file = SafetensorsFile.open(GPT2_F32)) {
            assertThat(file.path()).isEqualTo(GPT2_F32);
            assertThat(file.names()).hasSize(28).startsWith("transformer.h.0.attn.c_attn.bias",
                    "transformer.h.0.attn.c_attn.weight");
            assertThat(file.names()).doesNotContain("__metadata__");
            assertThat(file.metadata()).containsExactly(Map.entry("format", "pt"));
            assertThat(file.contains(WTE)).isTrue();
            assertThat(file.contains("lm_head.weight")).isFalse();
            TensorInfo info = file.info(WTE);
            assertThat(info.dtype()).isEqualTo("F32");
            assertThat(info.shape()).containsExactly(512, 32);
            assertThat(info.byteSize()).isEqualTo(512 * 32 * 4);
            for (String name : file.names()) {
                NDArray array = file.load(name, manager);
                assertThat(array.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(array.getShape().getShape()).containsExactly(file.info(name).shape());
            }
            // First values of wte, as read by Python's struct module.
            assertThat(file.load(WTE, manager).get(0).toFloatArray())
                    .startsWith(-0.14068569242954254f, -0.29962867498397827f, -0.17855775356292725f);
        }
    }

    @Test
    void bfloat16FixtureWidensToTheFloat32WeightsRoundedToBfloat16() {
        compareWithFloat32(GPT2_BF16, "BF16", 0x1p-8f, 0f, TestFiles::roundToBfloat16, null);
    }

    @Test
    void float16FixtureWidensToTheFloat32WeightsRoundedToFloat16() {
        // Below 2^-14 float16 is subnormal, with a fixed spacing of 2^-24.
        compareWithFloat32(GPT2_F16, "F16", 0x1p-11f, 0x1p-25f, TestFiles::roundToFloat16,
                f32 -> f32.toType(DataType.FLOAT16, true).toType(DataType.FLOAT32, false));
    }

    /**
     * Checks every tensor against the float32 fixture: within the rounding bound, and bit for bit
     * equal to the float32 value rounded in Java (and by torch, when it can).
     */
    private static void compareWithFloat32(Path halfFile, String dtype, float relative, float absolute,
            UnaryOperator<Float> round, UnaryOperator<NDArray> torchRound) {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile half = SafetensorsFile.open(halfFile);
                SafetensorsFile full = SafetensorsFile.open(GPT2_F32)) {
            assertThat(half.names()).containsExactlyElementsOf(full.names());
            for (String name : full.names()) {
                assertThat(half.info(name).dtype()).isEqualTo(dtype);
                NDArray loaded = half.load(name, manager);
                NDArray reference = full.load(name, manager);
                assertThat(loaded.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(loaded.getShape()).isEqualTo(reference.getShape());
                float[] actual = loaded.toFloatArray();
                float[] expected = reference.toFloatArray();
                float[] torch = torchRound == null ? null : torchRound.apply(reference).toFloatArray();
                for (int i = 0; i < expected.length; i++) {
                    float bound = Math.max(relative * Math.abs(expected[i]), absolute);
                    int bits = Float.floatToRawIntBits(actual[i]);
                    if (Math.abs(actual[i] - expected[i]) > bound
                            || bits != Float.floatToRawIntBits(round.apply(expected[i]))
                            || (torch != null && bits != Float.floatToRawIntBits(torch[i]))) {
                        throw new AssertionError(name + "[" + i + "]: loaded " + actual[i] + ", float32 " + expected[i]
                                + ", rounded in Java " + round.apply(expected[i])
                                + (torch == null ? "" : ", rounded by torch " + torch[i]));
                    }
                }
            }
        }
    }

    @Test
    void inPlaceOpsOnAWritableFileDoNotReachTheFile() throws IOException {
        Path copy = Files.copy(GPT2_F32, dir.resolve("model.safetensors"));
        String before = TestFiles.sha256(copy);
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(copy)) {
            assertThat(file.usesPrivateMapping()).isTrue();
            addOneInPlaceAndReload(file, manager);
        }
        assertThat(TestFiles.sha256(copy)).isEqualTo(before);
    }

    @Test
    void inPlaceOpsOnAReadOnlyFileDoNotCrash() throws IOException {
        Path copy = Files.copy(GPT2_F32, dir.resolve("model.safetensors"));
        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("r--r--r--"));
        String before = TestFiles.sha256(copy);
        try (NDManager manager = NDManager.newBaseManager()) {
            // Root may still open the file for writing, so the copying path is forced here.
            try (SafetensorsFile file = SafetensorsFile.open(copy, false)) {
                assertThat(file.usesPrivateMapping()).isFalse();
                addOneInPlaceAndReload(file, manager);
            }
            // Whatever this process may do with the file, the public open must be safe too.
            try (SafetensorsFile file = SafetensorsFile.open(copy)) {
                assertThat(file.usesPrivateMapping()).isEqualTo(Files.isWritable(copy));
                addOneInPlaceAndReload(file, manager);
            }
        }
        assertThat(TestFiles.sha256(copy)).isEqualTo(before);
    }

    private static void addOneInPlaceAndReload(SafetensorsFile file, NDManager manager) {
        NDArray first = file.load(WTE, manager);
        float[] original = first.toFloatArray();
        first.addi(1f);
        assertThat(first.getFloat(0, 0)).isEqualTo(original[0] + 1f);
        assertThat(file.load(WTE, manager).toFloatArray()).containsExactly(original);
        NDArray bias = file.load("transformer.h.0.attn.c_attn.bias", manager);
        bias.muli(0f);
        assertThat(bias.sum().getFloat()).isZero();
    }

    @Test
    void loadedArraysOutliveTheFile() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray wte;
            float[] original;
            try (SafetensorsFile file = SafetensorsFile.open(GPT2_F32)) {
                wte = file.load(WTE, manager);
                original = wte.toFloatArray();
            }
            System.gc();
            assertThat(wte.toFloatArray()).containsExactly(original);
            wte.addi(1f);
            assertThat(wte.getFloat(0, 0)).isEqualTo(original[0] + 1f);
        }
    }

    @Test
    void loadAfterCloseFails() {
        SafetensorsFile file = SafetensorsFile.open(GPT2_F32);
        file.close();
        try (NDManager manager = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> file.load(WTE, manager))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
        assertThat(file.info(WTE).dtype()).isEqualTo("F32");
    }

    /** Offsets that are not multiples of the element size must still load correctly, and safely. */
    @ParameterizedTest(name = "privateMapping={0}")
    @ValueSource(booleans = {true, false})
    void loadsTensorsAtUnalignedOffsets(boolean privateMapping) {
        String header = TestFiles.padded("{\"u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"f32\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[1,13]},"
                + "\"i64\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[13,29]},"
                + "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[29,33]}}");
        ByteBuffer data = ByteBuffer.allocate(33).order(ByteOrder.LITTLE_ENDIAN);
        data.put((byte) 200).putFloat(1.5f).putFloat(-2f).putFloat(3f).putLong(1L << 50).putLong(-7);
        data.putShort((short) 0x3f80).putShort((short) 0xc040);
        Path path = TestFiles.raw(dir.resolve("unaligned.safetensors"), header, data.array());
        String before = TestFiles.sha256(path);
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile file = SafetensorsFile.open(path, privateMapping)) {
            assertThat(file.load("u8", manager).toUint8Array()).containsExactly(200);
            NDArray f32 = file.load("f32", manager);
            assertThat(f32.toFloatArray()).containsExactly(1.5f, -2f, 3f);
            f32.addi(1f);
            assertThat(f32.toFloatArray()).containsExactly(2.5f, -1f, 4f);
            assertThat(file.load("i64", manager).toLongArray()).containsExactly(1L << 50, -7L);
            assertThat(file.load("bf16", manager).toFloatArray()).containsExactly(1f, -3f);
        }
        assertThat(TestFiles.sha256(path)).isEqualTo(before);
    }

    /**
     * A tensor past the 2 GiB mark loads (each tensor is mapped on its own). Tensors over 2 GiB load
     * block by block ({@link SafetensorsBlocksTest} runs that path with small blocks).
     */
    @ParameterizedTest(name = "privateMapping={0}")
    @ValueSource(booleans = {true, false})
    void handlesFilesLargerThan2GiB(boolean privateMapping) throws IOException {
        long padBytes = (1L << 31) + 8;
        String header = TestFiles.padded("{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + padBytes + "],\"data_offsets\":[0,"
                + padBytes + "]},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + padBytes + ","
                + (padBytes + 8) + "]}}");
        Path path = TestFiles.raw(dir.resolve("big.safetensors"), header, new byte[0]);
        // Sparse: the 2 GiB of padding takes no disk space.
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(TestFiles.littleEndianFloats(1.5f, -4f)), channel.size() + padBytes);
        }
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile file = SafetensorsFile.open(path, privateMapping)) {
            NDArray x = file.load("x", manager);
            assertThat(x.toFloatArray()).containsExactly(1.5f, -4f);
            x.addi(1f);
            assertThat(file.load("x", manager).toFloatArray()).containsExactly(1.5f, -4f);
        }
    }

    @Test
    void loadsFloat64AsFloat32() {
        String header = TestFiles.padded("{\"d\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,32]}}");
        ByteBuffer data = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        data.putDouble(0.1).putDouble(-2).putDouble(1e-50).putDouble(Double.NaN);
        Path path = TestFiles.raw(dir.resolve("f64.safetensors"), header, data.array());
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(path)) {
            NDArray d = file.load("d", manager);
            assertThat(d.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(d.getShape()).isEqualTo(new Shape(2, 2));
            assertThat(d.toFloatArray()).containsExactly(0.1f, -2f, 0f, Float.NaN);
        }
    }

    @Test
    void missingTensorNamesTheClosestNames() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile file = SafetensorsFile.open(GPT2_F32)) {
            assertThatThrownBy(() -> file.info("transformer.h.0.attn.c_atn.bias"))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("'transformer.h.0.attn.c_atn.bias'")
                    .hasMessageContaining("model.safetensors")
                    .hasMessageContaining("Closest names: 'transformer.h.0.attn.c_attn.bias'");
            assertThatThrownBy(() -> file.load("wte", manager))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("No tensor 'wte'");
        }
    }

    @Test
    void editDistanceCountsSingleCharacterEdits() {
        assertThat(dev.loupe.ClosestNames.editDistance("kitten", "sitting")).isEqualTo(3);
        assertThat(dev.loupe.ClosestNames.editDistance("", "abc")).isEqualTo(3);
        assertThat(dev.loupe.ClosestNames.editDistance("same", "same")).isZero();
    }

    @Test
    void tensorInfoIsAValueWithAnImmutableShape() {
        long[] shape = {2, 3};
        TensorInfo info = new TensorInfo("x", "F32", shape, 8, 32);
        shape[0] = 99;
        info.shape()[1] = 99;
        assertThat(info.shape()).containsExactly(2, 3);
        assertThat(info).isEqualTo(new TensorInfo("x", "F32", new long[] {2, 3}, 8, 32));
        assertThat(info.hashCode()).isEqualTo(new TensorInfo("x", "F32", new long[] {2, 3}, 8, 32).hashCode());
        assertThat(info.numel()).isEqualTo(6);
        assertThat(info.rank()).isEqualTo(2);
        assertThat(info.byteSize()).isEqualTo(24);
        assertThat(info.toString()).contains("x", "F32", "[2, 3]");
    }
}
