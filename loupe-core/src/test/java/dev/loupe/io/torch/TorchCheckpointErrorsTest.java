package dev.loupe.io.torch;

import static dev.loupe.io.torch.TorchZip.floats;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.loupe.CheckpointException;
import dev.loupe.io.torch.PickleWriter.Spec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchCheckpointErrorsTest {
    @TempDir
    Path dir;

    private static byte[] oneTensor(Spec spec) {
        return PickleWriter.stateDict(Map.of("w", spec));
    }

    private Path valid() {
        return TorchZip.of(oneTensor(Spec.contiguous("FloatStorage", "0", 2, 3))).storage("0", TorchZip.iota(6))
                .write(dir.resolve("valid.pt"));
    }

    @Test
    void truncatedZip() throws IOException {
        byte[] bytes = Files.readAllBytes(valid());
        Path cut = Files.write(dir.resolve("cut.pt"), Arrays.copyOf(bytes, bytes.length * 2 / 3));
        assertOpenFails(cut).hasMessageContaining("is truncated or corrupt");
    }

    /**
     * Found by LoaderFuzzTest: a central directory entry whose comment length reaches into the next
     * entry makes java.util.zip decode bytes that are not UTF-8, and it throws an unchecked
     * IllegalArgumentException while listing the entries.
     */
    @Test
    void aZipEntryCommentThatIsNotUtf8IsACorruptZip() throws IOException {
        byte[] valid = Files.readAllBytes(valid());
        int central = indexOf(valid, new byte[] {'P', 'K', 1, 2});
        for (int length = 1; length < 256; length++) {
            byte[] bytes = valid.clone();
            bytes[central + 32] = (byte) length; // the low byte of the entry's comment length
            Path file = Files.write(dir.resolve("comment.pt"), bytes);
            assertThatThrownBy(() -> TorchCheckpoint.open(file).close()).as("comment length " + length)
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("comment.pt");
        }
    }

    @Test
    void corruptStorageEntryFailsOnLoad() throws IOException {
        byte[] bytes = Files.readAllBytes(valid());
        // Break the local header signature of archive/data/0; the central directory still lists it.
        int name = indexOf(bytes, "archive/data/0".getBytes(StandardCharsets.US_ASCII));
        Arrays.fill(bytes, name - 30, name - 26, (byte) 0);
        Path file = Files.write(dir.resolve("loc.pt"), bytes);
        try (NDManager manager = NDManager.newBaseManager(); TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThatThrownBy(() -> pt.load("w", manager))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("could not read tensor 'w'")
                    .hasMessageContaining("truncated or corrupt");
        }
    }

    @Test
    void missingStorageEntryNamesTheKey() {
        Path file = TorchZip.of(oneTensor(Spec.contiguous("FloatStorage", "0", 2))).write(dir.resolve("nodata.pt"));
        assertOpenFails(file).hasMessageContaining("tensor 'w' uses storage '0'")
                .hasMessageContaining("no entry 'archive/data/0'");
    }

    @Test
    void storageTooSmallForTheShape() {
        Path file = TorchZip.of(oneTensor(Spec.contiguous("FloatStorage", "0", 2, 3))).storage("0", floats(1, 2, 3, 4, 5))
                .write(dir.resolve("small.pt"));
        assertOpenFails(file).hasMessageContaining("tensor 'w' (float32 [2, 3] stride [3, 1] offset 0) needs 24 bytes")
                .hasMessageContaining("has only 20 bytes");
    }

    @Test
    void storageTooSmallForTheStrideAndOffset() {
        Path file = TorchZip.of(oneTensor(Spec.of("HalfStorage", "0", 6, 1, new long[] {3, 2}, new long[] {1, 3})))
                .storage("0", new byte[12]).write(dir.resolve("offset.pt"));
        assertOpenFails(file).hasMessageContaining("needs 14 bytes").hasMessageContaining("has only 12 bytes");
    }

    @Test
    void legacyTorchFile() throws IOException {
        byte[] legacy = HexFormat.of().parseHex("80028a0a6cfc9c46f9206aa85019" + "2e");
        Path file = Files.write(dir.resolve("legacy.pt"), legacy);
        assertOpenFails(file).hasMessageContaining("is a legacy (pre-1.6) torch file")
                .hasMessageContaining("re-save it with torch >= 1.6 (torch.save(obj, path)) or convert it to safetensors");
    }

    @Test
    void plainPickle() throws IOException {
        Path file = Files.write(dir.resolve("plain.pkl"), HexFormat.of().parseHex("80024b012e"));
        assertOpenFails(file).hasMessageContaining("plain Python pickle");
    }

    @Test
    void randomBytesAndEmptyFiles() throws IOException {
        byte[] noise = new byte[1000];
        new Random(42).nextBytes(noise);
        noise[0] = 0x13;
        assertOpenFails(Files.write(dir.resolve("noise.bin"), noise))
                .hasMessageContaining("is not a PyTorch checkpoint").hasMessageContaining("starts with bytes 13");
        assertOpenFails(Files.write(dir.resolve("empty.bin"), new byte[0])).hasMessageContaining("is empty");
    }

    @Test
    void missingFileAndFolder() {
        assertOpenFails(dir.resolve("absent.pt")).hasMessageContaining("does not exist");
        assertOpenFails(dir).hasMessageContaining("is not a regular file");
    }

    @Test
    void bigEndianByteOrder() {
        Path file = TorchZip.of(oneTensor(Spec.contiguous("FloatStorage", "0", 1))).storage("0", floats(1))
                .entry("byteorder", "big".getBytes(StandardCharsets.US_ASCII)).write(dir.resolve("big.pt"));
        assertOpenFails(file).hasMessageContaining("byte order 'big'").hasMessageContaining("little-endian");
    }

    @Test
    void missingByteOrderIsLittleEndian() {
        Path file = TorchZip.of(oneTensor(Spec.contiguous("FloatStorage", "0", 1))).storage("0", floats(1))
                .without("byteorder").write(dir.resolve("old.pt"));
        try (TorchCheckpoint pt = TorchCheckpoint.open(file)) {
            assertThat(pt.names()).containsExactly("w");
        }
    }

    @Test
    void unknownAndUnsupportedOpcodesAreNamed() {
        assertOpenFails(zip(new PickleWriter().proto(2).op(0xff).bytes()))
                .hasMessageContaining("unknown pickle opcode 0xff");
        assertOpenFails(zip(new PickleWriter().proto(2).op('P').raw("0\n".getBytes(StandardCharsets.US_ASCII)).bytes()))
                .hasMessageContaining("PERSID (0x50)");
        assertOpenFails(zip(new PickleWriter().proto(6).bytes())).hasMessageContaining("pickle protocol 6");
    }

    @Test
    void truncatedPickles() {
        byte[] shortString = new PickleWriter().proto(2).op('X').raw(new byte[] {100, 0, 0, 0, 'a', 'b'}).bytes();
        assertOpenFails(zip(shortString)).hasMessageContaining("declares 100 bytes but only 2 remain");
        assertOpenFails(zip(new PickleWriter().proto(2).emptyDict().bytes()))
                .hasMessageContaining("is truncated: the pickle ends");
        assertOpenFails(zip(new PickleWriter().proto(2).setItems().bytes())).hasMessageContaining("needs a MARK");
    }

    @Test
    void zipsThatAreNotTorchSaveCheckpoints() {
        assertOpenFails(TorchZip.of(new byte[0]).without("data.pkl").write(dir.resolve("other.zip")))
                .hasMessageContaining("has no data.pkl entry");
        assertOpenFails(TorchZip.of(new PickleWriter().proto(2).emptyDict().stop().bytes())
                .entry("constants.pkl", new byte[0]).write(dir.resolve("script.pt")))
                .hasMessageContaining("TorchScript");
    }

    @Test
    void savedObjectsThatAreNotStateDicts() {
        byte[] single = new PickleWriter().proto(2).tensor(Spec.contiguous("FloatStorage", "0", 1)).stop().bytes();
        assertOpenFails(TorchZip.of(single).storage("0", floats(1)).write(dir.resolve("single.pt")))
                .hasMessageContaining("holds a single tensor");
        assertOpenFails(zip(new PickleWriter().proto(2).integer(5).stop().bytes()))
                .hasMessageContaining("holds an int rather than a state dict");
    }

    @Test
    void malformedTensorDescriptions() {
        byte[] mismatch = oneTensorPickle(new long[] {2, 3}, new long[] {1});
        assertOpenFails(zip(mismatch)).hasMessageContaining("lengths differ");
        byte[] negative = oneTensorPickle(new long[] {2}, new long[] {-1});
        assertOpenFails(zip(negative)).hasMessageContaining("negative size, stride or offset");
        byte[] huge = oneTensorPickle(new long[] {1L << 40, 1L << 40}, new long[] {1, 1});
        assertOpenFails(zip(huge)).hasMessageContaining("overflow 64 bits");
        byte[] notStorage = new PickleWriter().proto(2).emptyDict().str("w").mark().str("tensor").integer(1).tuple()
                .binPersId().setItem().stop().bytes();
        assertOpenFails(zip(notStorage)).hasMessageContaining("not a torch storage reference");
    }

    @Test
    void duplicateNamesAfterFlattening() {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().mark();
        w.str("a.b").tensor(Spec.contiguous("FloatStorage", "0", 1));
        w.str("a").emptyDict().str("b").tensor(Spec.contiguous("FloatStorage", "0", 1)).setItem();
        assertOpenFails(TorchZip.of(w.setItems().stop().bytes()).storage("0", floats(1)).write(dir.resolve("dup.pt")))
                .hasMessageContaining("two tensors named 'a.b'");
    }

    @Test
    void selfReferencingContainersDoNotHang() {
        // l = []; l.append(l); t = (l,); l.append(t); {"l": l, t: 1}
        byte[] pickle = new PickleWriter().proto(2).emptyDict().str("l").emptyList().binPut(1)
                .binGet(1).append().binGet(1).tuple1().binPut(2).append().setItem()
                .binGet(2).integer(1).setItem().stop().bytes();
        try (TorchCheckpoint pt = TorchCheckpoint.open(zip(pickle))) {
            assertThat(pt.names()).isEmpty();
        }
    }

    private static byte[] oneTensorPickle(long[] size, long[] stride) {
        return PickleWriter.stateDict(Map.of("w", Spec.of("FloatStorage", "0", 6, 0, size, stride)));
    }

    private Path zip(byte[] pickle) {
        return TorchZip.of(pickle).storage("0", floats(0, 1, 2, 3, 4, 5)).write(dir.resolve("p" + System.nanoTime() + ".pt"));
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(Path file) {
        return assertThatThrownBy(() -> TorchCheckpoint.open(file).close()).isInstanceOf(CheckpointException.class);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
