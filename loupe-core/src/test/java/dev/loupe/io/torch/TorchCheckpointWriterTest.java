package dev.loupe.io.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchCheckpointWriterTest {
    private static final Path LENS = Path.of("..", "testdata", "lens");
    /** What a ModuleList of two Linear layers records in {@code state_dict()._metadata}. */
    private static final Map<String, Integer> TWO_MODULES = versions("", "0", "1");

    @TempDir
    Path dir;

    @Test
    void rewritingTheTunedLensParamsGivesTorchsOwnPickleBytesAndEntryLayout() throws IOException {
        Path written = dir.resolve("params.pt");
        try (NDManager manager = NDManager.newBaseManager();
                TorchCheckpoint original = TorchCheckpoint.open(LENS.resolve("params.pt"))) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String name : original.names()) {
                tensors.put(name, original.load(name, manager));
            }
            TorchCheckpointWriter.write(written, tensors, TWO_MODULES);
        }
        try (ZipFile expected = new ZipFile(LENS.resolve("params.pt").toFile());
                ZipFile actual = new ZipFile(written.toFile())) {
            assertThat(names(actual)).containsExactlyElementsOf(names(expected));
            for (String name : names(expected)) {
                ZipEntry entry = actual.getEntry(name);
                assertThat(entry.getMethod()).as(name).isEqualTo(ZipEntry.STORED);
                if (!name.endsWith("serialization_id")) {
                    assertThat(bytes(actual, name)).as(name).isEqualTo(bytes(expected, name));
                }
            }
            assertThat(new String(bytes(actual, "params/.data/serialization_id"))).matches("[0-9]{40}");
        }
        // torch aligns every entry's data to 64 bytes (the fixture's are, too).
        assertThat(dataOffsets(written).values()).allMatch(offset -> offset % 64 == 0);
        assertThat(dataOffsets(LENS.resolve("params.pt")).values()).allMatch(offset -> offset % 64 == 0);
    }

    @Test
    void thePickleUsesTheOpcodesTorchLoadExpects() throws IOException {
        Path written = dir.resolve("lens.pt");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("0.weight", manager.arange(6f).reshape(2, 3));
            tensors.put("0.bias", manager.create(new float[] {1, 2}));
            TorchCheckpointWriter.write(written, tensors, versions("", "0"));
        }
        byte[] pickle;
        try (ZipFile zip = new ZipFile(written.toFile())) {
            pickle = bytes(zip, "lens/data.pkl");
        }
        // PROTO 2, then GLOBAL 'collections\nOrderedDict\n', EMPTY_TUPLE, REDUCE: an OrderedDict.
        assertThat(pickle[0] & 0xff).isEqualTo(0x80);
        assertThat(pickle[1]).isEqualTo((byte) 2);
        String text = new String(pickle, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(text).startsWith("\u0080\u0002ccollections\nOrderedDict\nq\u0000)Rq\u0001");
        assertThat(text).contains("ctorch._utils\n_rebuild_tensor_v2\n", "ctorch\nFloatStorage\n", "cpu", "_metadata");
        assertThat(text.chars().filter(c -> c == 'Q').count()).as("BINPERSID per tensor").isGreaterThanOrEqualTo(2);
        assertThat(pickle[pickle.length - 1]).isEqualTo((byte) '.');
        assertThat(pickle[pickle.length - 2]).as("BUILD sets _metadata").isEqualTo((byte) 'b');
        // The restricted reader accepts it: every opcode is one torch.save uses.
        assertThat(RestrictedUnpickler.load(pickle, "test")).isInstanceOf(Map.class);
    }

    @Test
    void everyDtypeAndShapeRoundTripsThroughTheReader() {
        Path written = dir.resolve("mixed.pt");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("f32", manager.randomNormal(new Shape(3, 4)));
            tensors.put("f16", manager.create(new float[] {0.5f, -2f, 65504f}).toType(DataType.FLOAT16, false));
            tensors.put("i64", manager.create(new long[] {1L << 40, -3, 70000, 300}));
            tensors.put("scalar", manager.create(7f));
            tensors.put("rank5", manager.arange(32f).reshape(2, 2, 2, 2, 2));
            List<String> many = new ArrayList<>();
            for (int i = 0; i < 300; i++) { // past 256 memo slots: LONG_BINPUT / LONG_BINGET
                tensors.put("t" + i, manager.create(new float[] {i}));
                many.add("t" + i);
            }
            TorchCheckpointWriter.write(written, tensors);
            try (TorchCheckpoint back = TorchCheckpoint.open(written)) {
                assertThat(back.names()).containsExactlyElementsOf(tensors.keySet());
                assertThat(back.load("f32", manager).toFloatArray()).containsExactly(tensors.get("f32").toFloatArray());
                assertThat(back.dtype("f16")).isEqualTo("float16");
                assertThat(back.load("f16", manager).toFloatArray()).containsExactly(0.5f, -2f, 65504f);
                assertThat(back.load("i64", manager).toLongArray()).containsExactly(1L << 40, -3, 70000, 300);
                assertThat(back.shape("scalar")).isEmpty();
                assertThat(back.load("scalar", manager).getFloat()).isEqualTo(7f);
                assertThat(back.load("rank5", manager).toFloatArray()).containsExactly(tensors.get("rank5").toFloatArray());
                assertThat(back.load("t299", manager).getFloat()).isEqualTo(299f);
            }
        }
        assertThat(dataOffsets(written).values()).allMatch(offset -> offset % 64 == 0);
    }

    @Test
    void equalInputsGiveEqualFilesAndTheArchiveIsNamedAfterTheFile() throws IOException {
        Path a = dir.resolve("a.pt");
        Path b = dir.resolve("sub").resolve("a.pt");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Map.of("w", manager.ones(new Shape(2, 2)));
            TorchCheckpointWriter.write(a, tensors);
            TorchCheckpointWriter.write(b, tensors);
        }
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
        try (ZipFile zip = new ZipFile(a.toFile())) {
            assertThat(names(zip)).first().isEqualTo("a/data.pkl");
        }
        assertThat(dir).isDirectoryNotContaining(p -> p.getFileName().toString().endsWith(".tmp"));
    }

    @Test
    void anUnnamedTensorIsRefusedBeforeTheDiskIsTouched() {
        try (NDManager manager = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> TorchCheckpointWriter.write(dir.resolve("other.pt"),
                    Map.of("", manager.ones(new Shape(1))))).isInstanceOf(LoupeException.class)
                    .hasMessageContaining("non-empty name");
        }
        assertThat(dir.resolve("other.pt")).doesNotExist();
    }

    private static Map<String, Integer> versions(String... modules) {
        Map<String, Integer> versions = new LinkedHashMap<>();
        for (String module : modules) {
            versions.put(module, 1);
        }
        return versions;
    }

    private static List<String> names(ZipFile zip) {
        return Collections.list(zip.entries()).stream().map(ZipEntry::getName).toList();
    }

    private static byte[] bytes(ZipFile zip, String name) throws IOException {
        try (var in = zip.getInputStream(zip.getEntry(name))) {
            return in.readAllBytes();
        }
    }

    /** Each local entry's data offset, read from its local header (name length + extra length). */
    private static Map<String, Long> dataOffsets(Path file) {
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            Map<String, Long> offsets = new LinkedHashMap<>();
            try (ZipFile zip = new ZipFile(file.toFile())) {
                int at = 0;
                for (ZipEntry entry : Collections.list(zip.entries())) {
                    assertThat(b.getInt(at)).isEqualTo(0x04034b50);
                    int nameLength = b.getShort(at + 26) & 0xffff;
                    int extraLength = b.getShort(at + 28) & 0xffff;
                    long data = at + 30L + nameLength + extraLength;
                    offsets.put(entry.getName(), data);
                    int flags = b.getShort(at + 6) & 0xffff;
                    at = (int) (data + entry.getCompressedSize() + ((flags & 8) != 0 ? 16 : 0));
                }
            }
            return offsets;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
