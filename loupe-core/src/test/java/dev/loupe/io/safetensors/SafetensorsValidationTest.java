package dev.loupe.io.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every way a file can be bad must end in a CheckpointException that names the file, never in a crash. */
class SafetensorsValidationTest {
    @TempDir
    Path dir;

    private Path bad(String header, int dataBytes) {
        return TestFiles.raw(dir.resolve("bad.safetensors"), header, new byte[dataBytes]);
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(Path file) {
        return assertThatThrownBy(() -> SafetensorsFile.open(file).close())
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.getFileName().toString());
    }

    @Test
    void missingFileOrDirectory() {
        assertOpenFails(dir.resolve("nope.safetensors")).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> SafetensorsFile.open(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("not a regular file");
    }

    @Test
    void fileShorterThanTheLengthPrefix() throws IOException {
        assertOpenFails(Files.write(dir.resolve("empty.safetensors"), new byte[0]))
                .hasMessageContaining("0 bytes")
                .hasMessageContaining("truncated");
        assertOpenFails(Files.write(dir.resolve("short.safetensors"), new byte[] {1, 2, 3}))
                .hasMessageContaining("3 bytes");
    }

    @Test
    void headerLengthBiggerThanTheFile() {
        Path file = TestFiles.raw(dir.resolve("bad.safetensors"), 1000, "{}".getBytes(StandardCharsets.UTF_8),
                new byte[0]);
        assertOpenFails(file).hasMessageContaining("1000").hasMessageContaining("truncated");
    }

    @Test
    void absurdHeaderLength() {
        assertOpenFails(TestFiles.raw(dir.resolve("a.safetensors"), 1L << 40, new byte[16], new byte[0]))
                .hasMessageContaining(Long.toString(1L << 40))
                .hasMessageContaining("not a safetensors file");
        // The top bit set: an unsigned length Java reads as negative.
        assertOpenFails(TestFiles.raw(dir.resolve("b.safetensors"), -1L, new byte[16], new byte[0]))
                .hasMessageContaining("18446744073709551615");
    }

    @Test
    void garbageJson() {
        assertOpenFails(bad("{\"a\": {\"dtype\": \"F32\", ", 0)).hasMessageContaining("not valid JSON");
        assertOpenFails(bad("\u0000\u0001\u0002garbage", 0)).hasMessageContaining("not valid JSON");
        assertOpenFails(bad("{} trailing", 0)).hasMessageContaining("not valid JSON");
        assertOpenFails(bad("", 0)).hasMessageContaining("JSON object");
        assertOpenFails(bad("[1, 2]", 0)).hasMessageContaining("must be a JSON object");
    }

    @Test
    void duplicateTensorNames() {
        String entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        assertOpenFails(bad("{\"x\":" + entry + ",\"x\":" + entry + "}", 4)).hasMessageContaining("x");
    }

    @Test
    void malformedEntries() {
        assertOpenFails(bad("{\"x\": 3}", 0)).hasMessageContaining("'x'").hasMessageContaining("JSON object");
        assertOpenFails(bad("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("'x'").hasMessageContaining("dtype");
        assertOpenFails(bad("{\"x\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("dtype");
        assertOpenFails(bad("{\"x\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("\"Q7\"");
        assertOpenFails(bad("{\"x\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16))
                .hasMessageContaining("shape");
        assertOpenFails(bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,10]}}", 10))
                .hasMessageContaining("shape");
        assertOpenFails(bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8))
                .hasMessageContaining("data_offsets");
        assertOpenFails(bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8))
                .hasMessageContaining("data_offsets");
        assertOpenFails(bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8))
                .hasMessageContaining("begin > end");
        assertOpenFails(bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4))
                .hasMessageContaining("shape");
        assertOpenFails(bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}",
                4)).hasMessageContaining("overflows");
    }

    @Test
    void negativeShape() {
        assertOpenFails(bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1,4],\"data_offsets\":[0,16]}}", 16))
                .hasMessageContaining("'x'")
                .hasMessageContaining("shape must be an array of non-negative integers")
                .hasMessageContaining("[-1,4]");
    }

    @Test
    void byteRangeThatDoesNotMatchShapeTimesDtype() {
        assertOpenFails(bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24))
                .hasMessageContaining("'x'")
                .hasMessageContaining("needs 24 bytes")
                .hasMessageContaining("span 20 bytes");
        assertOpenFails(bad("{\"x\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,12]}}", 12))
                .hasMessageContaining("needs 6 bytes");
    }

    @Test
    void overlappingTensors() {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"empty\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}";
        assertOpenFails(bad(header, 20)).hasMessageContaining("'a'").hasMessageContaining("'b'")
                .hasMessageContaining("overlap");
    }

    @Test
    void emptyTensorsBetweenOthersOrAtTheEndsAreFine() {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"first\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"between\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[16,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
                + "\"last\":{\"dtype\":\"I64\",\"shape\":[3,0],\"data_offsets\":[24,24]}}";
        try (SafetensorsFile file = SafetensorsFile.open(bad(header, 24))) {
            assertThat(file.names()).containsExactly("a", "first", "between", "b", "last");
        }
    }

    @Test
    void anEmptyTensorInsideAnotherIsRefused() {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[8,8]}}";
        assertOpenFails(bad(header, 16)).hasMessageContaining("the empty tensor 'empty' is placed at byte 8")
                .hasMessageContaining("inside tensor 'a' (bytes [0, 16))");
        String beyond = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"empty\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[40,40]}}";
        assertOpenFails(bad(beyond, 16)).hasMessageContaining("beyond the end of the data region");
    }

    @Test
    void aGapBetweenTensorsIsRefused() {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}";
        assertOpenFails(bad(header, 32)).hasMessageContaining("tensor 'b' starts at byte 24")
                .hasMessageContaining("'a', ends at byte 16")
                .hasMessageContaining("8 bytes in between belong to no tensor");
    }

    @Test
    void dataThatDoesNotStartAtTheFirstByteIsRefused() {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]}}";
        assertOpenFails(bad(header, 20)).hasMessageContaining("tensor 'a' starts at byte 4")
                .hasMessageContaining("the data region starts at byte 0");
    }

    @Test
    void trailingBytesAfterTheLastTensorAreRefused() throws IOException {
        Path file = written("tail.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        Path longer = Files.write(dir.resolve("tail+3.safetensors"), TestFiles.concat(bytes, new byte[] {1, 2, 3}));
        assertOpenFails(longer).hasMessageContaining("has 3 bytes after its tensor data")
                .hasMessageContaining("its last tensor, 'b', ends at byte 40");
        String empty = TestFiles.padded("{}");
        assertOpenFails(TestFiles.raw(dir.resolve("nothing.safetensors"), empty, new byte[5]))
                .hasMessageContaining("has 5 bytes after its tensor data (it describes no tensor data");
    }

    /**
     * The fuzzing reproduction: a header length one byte short still parses, because it only cuts
     * a padding space, but it moves the data region one byte back, so every float would be read
     * from its neighbour's bytes (all-NaN logits). The one byte it leaves over is what gives it away.
     */
    @Test
    void aHeaderLengthOneByteShortIsRefusedInsteadOfShiftingTheData() throws IOException {
        Path file = written("short-by-one.safetensors");
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = bytes.getLong(0);
        assertThat(bytes.get((int) (8 + headerLength - 1))).as("the header ends with padding").isEqualTo((byte) ' ');
        bytes.putLong(0, headerLength - 1);
        Files.write(file, bytes.array());
        assertOpenFails(file).hasMessageContaining("has 1 byte after its tensor data")
                .hasMessageContaining("The header length field (" + (headerLength - 1) + " bytes) may be wrong");

        // One byte long takes the first data byte into the JSON, which is then not valid.
        bytes.putLong(0, headerLength + 1);
        Files.write(file, bytes.array());
        assertOpenFails(file).hasMessageContaining("not valid JSON");
    }

    @Test
    void theHeaderMustStartWithABraceThoughTrailingSpacesMayPadIt() {
        String entry = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        assertOpenFails(bad(" " + entry, 4)).hasMessageContaining("must start with '{'")
                .hasMessageContaining("0x20");
        try (SafetensorsFile file = SafetensorsFile.open(bad(entry + "       ", 4))) {
            assertThat(file.names()).containsExactly("x");
        }
        assertOpenFails(bad(entry + "  \u0000", 4)).hasMessageContaining("not valid JSON");
    }

    /** A file with tensors 'alpha' F32[4] (bytes [0, 16)) and 'b' F32[2, 3] ([16, 40)), by the project's writer. */
    private Path written(String name) {
        Path file = dir.resolve(name);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("alpha", manager.create(new float[] {1, 2, 3, 4}));
            tensors.put("b", manager.create(new float[] {5, 6, 7, 8, 9, 10}, new Shape(2, 3)));
            SafetensorsWriter.write(file, tensors);
        }
        return file;
    }

    @Test
    void dataRangeBeyondTheEndOfTheFile() {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}";
        int headerLength = header.getBytes(StandardCharsets.UTF_8).length;
        assertOpenFails(bad(header, 20))
                .hasMessageContaining("truncated")
                .hasMessageContaining("'b'")
                .hasMessageContaining("at least " + (8 + headerLength + 32) + " bytes")
                .hasMessageContaining("it is " + (8 + headerLength + 20) + " bytes")
                .hasMessageContaining("re-download");
    }

    @Test
    void truncatedFixture() throws IOException {
        byte[] whole = Files.readAllBytes(TestFiles.GPT2_F32);
        Path cut = Files.write(dir.resolve("model.safetensors"), Arrays.copyOf(whole, whole.length - 100));
        assertOpenFails(cut)
                .hasMessageContaining("truncated")
                .hasMessageContaining("at least " + whole.length + " bytes")
                .hasMessageContaining("it is " + (whole.length - 100) + " bytes")
                .hasMessageContaining("re-download");
        Path headerOnly = Files.write(dir.resolve("header.safetensors"), Arrays.copyOf(whole, 100));
        assertOpenFails(headerOnly).hasMessageContaining("truncated");
    }

    @Test
    void metadataMustBeStrings() {
        assertOpenFails(bad("{\"__metadata__\":{\"format\":1}}", 0))
                .hasMessageContaining("\"format\"")
                .hasMessageContaining("must be a string");
        assertOpenFails(bad("{\"__metadata__\":[1]}", 0)).hasMessageContaining("__metadata__");
    }

    /** These dtypes abort the JVM inside DJL; they must be stopped with an exception first. */
    @ParameterizedTest
    @ValueSource(strings = {"I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "C64"})
    void unsupportedDtypesFailToLoadWithoutCrashing(String dtype) {
        int bytes = SafetensorsDtype.of(dtype).bytes * 4;
        String header = "{\"bad\":{\"dtype\":\"" + dtype + "\",\"shape\":[2,2],\"data_offsets\":[0," + bytes + "]},"
                + "\"good\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" + bytes + "," + (bytes + 4) + "]}}";
        Path path = bad(header, bytes + 4);
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(path)) {
            assertThat(file.info("bad").dtype()).isEqualTo(dtype);
            assertThatThrownBy(() -> file.load("bad", manager))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("'bad'")
                    .hasMessageContaining(dtype)
                    .hasMessageContaining("bad.safetensors");
            // Still alive, and the rest of the file still loads.
            assertThat(file.load("good", manager).toFloatArray()).containsExactly(0f);
        }
    }
}
