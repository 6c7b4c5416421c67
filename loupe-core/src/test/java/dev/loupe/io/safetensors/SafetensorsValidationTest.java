package dev.loupe.io.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.loupe.CheckpointException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
    void emptyTensorsInsideOthersAndGapsAreFine() {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[8,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}";
        try (SafetensorsFile file = SafetensorsFile.open(bad(header, 40))) {
            assertThat(file.names()).containsExactly("a", "empty", "b");
        }
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
