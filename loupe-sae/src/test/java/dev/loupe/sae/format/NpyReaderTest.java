package dev.loupe.sae.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.CheckpointException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The strict .npy/.npz reader: what numpy writes for float32 C-order arrays, and clear refusals otherwise. */
class NpyReaderTest {
    /** A .npy file as numpy writes it (version 1.0, header padded to 64 bytes). */
    static byte[] npy(String descr, boolean fortran, String shape, byte[] data) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': ("
                + shape + "), }";
        int pad = 64 - (10 + dict.length() + 1) % 64;
        String header = dict + " ".repeat(pad % 64) + "\n";
        ByteBuffer prefix = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        prefix.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(prefix.array());
        out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    private static NpyArray read(byte[] bytes) {
        return NpyReader.read(new ByteArrayInputStream(bytes), "x.npy");
    }

    @Test
    void readsFloat32CArrays() {
        NpyArray a = read(npy("<f4", false, "2, 3", floats(1, 2, 3, 4, 5, 6)));
        assertThat(a.shape()).containsExactly(2, 3);
        assertThat(a.data()).containsExactly(1, 2, 3, 4, 5, 6);
        NpyArray vector = read(npy("<f4", false, "3,", floats(7, 8, 9)));
        assertThat(vector.shape()).containsExactly(3);
        assertThat(read(npy("<f4", false, "", floats(5))).data()).containsExactly(5);
    }

    @Test
    void refusesOtherArraysWithTheReason() {
        assertThatThrownBy(() -> read(npy("<f8", false, "1,", new byte[8]))).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("x.npy").hasMessageContaining("'<f8' is not float32");
        assertThatThrownBy(() -> read(npy(">f4", false, "1,", new byte[4]))).hasMessageContaining("'>f4'");
        assertThatThrownBy(() -> read(npy("<f4", true, "2, 2", floats(1, 2, 3, 4)))).hasMessageContaining("Fortran order");
        assertThatThrownBy(() -> read(npy("<f4", false, "2, 3", floats(1, 2, 3)))).hasMessageContaining("truncated");
        assertThatThrownBy(() -> read(npy("<f4", false, "2,", floats(1, 2, 3)))).hasMessageContaining("bytes after");
        assertThatThrownBy(() -> read(npy("<f4", false, "100000, 100000", floats(1))))
                .hasMessageContaining("more than " + NpyReader.MAX_ELEMENTS + " elements");
        assertThatThrownBy(() -> read(npy("<f4", false, "-1,", floats(1)))).hasMessageContaining("not a non-negative integer");
        assertThatThrownBy(() -> read("not numpy at all".getBytes(StandardCharsets.US_ASCII)))
                .hasMessageContaining("not a .npy file");
        byte[] bad = npy("<f4", false, "1,", floats(1));
        assertThatThrownBy(() -> read(Arrays.copyOf(bad, 12))).hasMessageContaining("truncated in the .npy header");
    }

    @Test
    void anNpzIsAZipOfNpyEntries(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("params.npz");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
            zip.putNextEntry(new ZipEntry("b_dec.npy"));
            zip.write(npy("<f4", false, "2,", floats(1, 2)));
            zip.closeEntry();
        }
        assertThat(NpzReader.read(file).get("b_dec").data()).containsExactly(1, 2);
        Path notZip = dir.resolve("broken.npz");
        Files.write(notZip, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> NpzReader.read(notZip)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("broken.npz").hasMessageContaining("not a valid .npz");
        Path wrongEntry = dir.resolve("other.npz");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(wrongEntry))) {
            zip.putNextEntry(new ZipEntry("b_dec.npy"));
            zip.write(npy("<i8", false, "1,", new byte[8]));
            zip.closeEntry();
        }
        assertThatThrownBy(() -> NpzReader.read(wrongEntry)).hasMessageContaining("other.npz (b_dec.npy)");
    }
}
