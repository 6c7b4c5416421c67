package dev.loupe.io.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    /** Both load paths: aliasing a private mapping, and copying (what a read-only file gets). */
    @ParameterizedTest(name = "privateMapping={0}")
    @ValueSource(booleans = {true, false})
    void roundTripsEveryWritableDtype(boolean privateMapping) {
        Path file = dir.resolve("all.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("f32", manager.create(new float[] {1.5f, -2f, 3.25f, Float.MIN_VALUE, -0f, 1e30f},
                    new Shape(2, 3)));
            tensors.put("i64", manager.create(new long[] {1L << 40, -1, Long.MIN_VALUE, Long.MAX_VALUE}));
            tensors.put("bool", manager.create(new boolean[] {true, false, false, true, true}));
            tensors.put("scalar", manager.create(2.5f));
            tensors.put("empty_f32", manager.zeros(new Shape(0, 3), DataType.FLOAT32));
            tensors.put("empty_i64", manager.zeros(new Shape(0), DataType.INT64));
            tensors.put("i32", manager.create(new int[] {7, -8, Integer.MAX_VALUE}));
            tensors.put("i8", manager.create(new byte[] {-128, 0, 127}));
            tensors.put("u8", manager.create(new byte[] {0, 1, (byte) 255}).toType(DataType.UINT8, false));
            tensors.put("f64", manager.create(new double[] {0.1, -1e300, 3}));
            tensors.put("f16", manager.create(new float[] {0.1f, 65504f, 1e-7f}).toType(DataType.FLOAT16, false));

            SafetensorsWriter.write(file, tensors, Map.of("format", "pt", "note", "é ✓"));

            try (SafetensorsFile loaded = SafetensorsFile.open(file, privateMapping)) {
                assertThat(loaded.usesPrivateMapping()).isEqualTo(privateMapping);
                assertThat(loaded.names()).containsExactlyElementsOf(tensors.keySet());
                assertThat(loaded.metadata()).containsExactlyInAnyOrderEntriesOf(
                        Map.of("format", "pt", "note", "é ✓"));
                assertThat(loaded.info("f32").dtype()).isEqualTo("F32");
                assertThat(loaded.info("f16").dtype()).isEqualTo("F16");
                assertThat(loaded.info("bool").dtype()).isEqualTo("BOOL");
                assertThat(loaded.info("scalar").shape()).isEmpty();
                assertThat(loaded.info("scalar").numel()).isEqualTo(1);
                assertThat(loaded.info("empty_f32").shape()).containsExactly(0, 3);

                for (String name : List.of("f32", "i64", "bool", "scalar", "empty_f32", "empty_i64", "i32",
                        "i8", "u8")) {
                    NDArray actual = loaded.load(name, manager);
                    NDArray expected = tensors.get(name);
                    assertThat(actual.getShape()).as(name).isEqualTo(expected.getShape());
                    assertThat(actual.getDataType()).as(name).isEqualTo(expected.getDataType());
                    assertThat(actual.toByteBuffer()).as(name).isEqualTo(expected.toByteBuffer());
                }
                NDArray f64 = loaded.load("f64", manager);
                assertThat(f64.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(f64.toFloatArray()).containsExactly(0.1f, Float.NEGATIVE_INFINITY, 3f);
                NDArray f16 = loaded.load("f16", manager);
                assertThat(f16.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(f16.toFloatArray()).containsExactly(
                        tensors.get("f16").toType(DataType.FLOAT32, true).toFloatArray());
                assertThat(loaded.load("scalar", manager).getShape().isScalar()).isTrue();
            }
        }
    }

    @Test
    void writesTheLayoutThePythonLibraryExpects() throws IOException {
        Path file = dir.resolve("layout.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("z", manager.create(new float[] {1, 2, 3}));
            tensors.put("a", manager.create(new long[] {4}));
            tensors.put("m", manager.create(new boolean[] {true}));
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
        }
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = bytes.getLong(0);
        assertThat(headerLength % 8).isZero();
        String header = new String(bytes.array(), 8, (int) headerLength, StandardCharsets.UTF_8);
        assertThat(header).startsWith("{").matches("(?s)\\{.*}\\s*");
        JsonNode json = new ObjectMapper().readTree(header);
        assertThat(json.fieldNames()).toIterable().containsExactly("__metadata__", "z", "a", "m");
        assertThat(json.get("z").toString()).isEqualTo("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}");
        assertThat(json.get("a").toString()).isEqualTo("{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[12,20]}");
        assertThat(json.get("m").toString()).isEqualTo("{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[20,21]}");
        assertThat(bytes.capacity()).isEqualTo(8 + headerLength + 21);
        assertThat(bytes.getFloat((int) (8 + headerLength) + 4)).isEqualTo(2f);
        assertThat(bytes.getLong((int) (8 + headerLength) + 12)).isEqualTo(4L);
    }

    @Test
    void writesStridedArraysInCOrder() {
        Path file = dir.resolve("transposed.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray transposed = manager.arange(6f).reshape(2, 3).transpose();
            SafetensorsWriter.write(file, Map.of("t", transposed));
            try (SafetensorsFile loaded = SafetensorsFile.open(file)) {
                NDArray t = loaded.load("t", manager);
                assertThat(t.getShape()).isEqualTo(new Shape(3, 2));
                assertThat(t.toFloatArray()).containsExactly(0, 3, 1, 4, 2, 5);
            }
        }
    }

    @Test
    void replacesAnExistingFileAndLeavesNoTemporaryFiles() throws IOException {
        Path file = dir.resolve("model.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(file, Map.of("x", manager.create(new float[] {1})));
            try (SafetensorsFile old = SafetensorsFile.open(file)) {
                NDArray before = old.load("x", manager);
                SafetensorsWriter.write(file, Map.of("y", manager.create(new float[] {2, 3})));
                // The old mapping is of the old inode, so it keeps its bytes.
                assertThat(before.toFloatArray()).containsExactly(1f);
            }
            try (SafetensorsFile replaced = SafetensorsFile.open(file)) {
                assertThat(replaced.names()).containsExactly("y");
                assertThat(replaced.load("y", manager).toFloatArray()).containsExactly(2f, 3f);
            }
        }
        assertThat(listDir()).containsExactly("model.safetensors");
    }

    @Test
    void createsMissingParentDirectories() {
        Path file = dir.resolve("a/b/c.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(file, Map.of("x", manager.create(new int[] {1})));
        }
        assertThat(file).isRegularFile();
    }

    @Test
    void rejectsEmptyOrReservedNamesWithoutTouchingTheDisk() {
        Path file = dir.resolve("bad.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray x = manager.create(new float[] {1});
            assertThatThrownBy(() -> SafetensorsWriter.write(file, Map.of("", x)))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("non-empty name");
            assertThatThrownBy(() -> SafetensorsWriter.write(file, Map.of("__metadata__", x)))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("__metadata__");
        }
        assertThat(listDir()).isEmpty();
    }

    @Test
    void rejectsADtypeItCannotWrite() {
        Path file = dir.resolve("bad.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            // A STRING array never reaches libtorch, unlike the integer types that abort it.
            NDArray strings = manager.create(new String[] {"a"});
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("ok", manager.create(new float[] {1}));
            tensors.put("text", strings);
            assertThatThrownBy(() -> SafetensorsWriter.write(file, tensors))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("'text'")
                    .hasMessageContaining("STRING")
                    .hasMessageContaining("toType");
        }
        assertThat(listDir()).isEmpty();
    }

    @Test
    void aFailedWriteLeavesTheTargetAndNoTemporaryFile() throws IOException {
        // A non-empty directory where the file should go makes the final rename fail.
        Path target = dir.resolve("occupied.safetensors");
        Files.createDirectories(target.resolve("inside"));
        try (NDManager manager = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> SafetensorsWriter.write(target, Map.of("x", manager.create(new float[] {1}))))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("occupied.safetensors");
        }
        assertThat(target.resolve("inside")).isDirectory();
        assertThat(listDir()).containsExactly("occupied.safetensors");
    }

    private List<String> listDir() {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
