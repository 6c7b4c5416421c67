package dev.loupe.io.torch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * A zip of STORED (uncompressed) entries whose data starts on a 64-byte boundary, as PyTorch's
 * {@code PyTorchStreamWriter} lays out a {@code torch.save} file: each local header carries an
 * extra field with id {@code "FB"} whose length pads the header so the data that follows is aligned
 * (torch maps storages straight from such offsets). Entries are written in the order added.
 */
final class AlignedZip {
    static final int ALIGNMENT = 64;
    private static final int LOCAL_HEADER = 30;
    private static final int UTF8_NAMES = 0x0800;

    private record Written(byte[] name, long crc, long size, long offset) {}

    private final OutputStream out;
    private final List<Written> entries = new ArrayList<>();
    private long position;

    AlignedZip(OutputStream out) {
        this.out = out;
    }

    /** Adds one entry; its data begins at a multiple of {@link #ALIGNMENT} in the file. */
    void add(String name, byte[] data) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        CRC32 crc = new CRC32();
        crc.update(data);
        long start = position + LOCAL_HEADER + nameBytes.length + 4;
        int padding = (int) ((ALIGNMENT - start % ALIGNMENT) % ALIGNMENT);
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        int32(header, 0x04034b50);
        int16(header, 20);
        int16(header, UTF8_NAMES);
        int16(header, 0); // stored
        int16(header, 0); // time
        int16(header, 0); // date
        int32(header, crc.getValue());
        int32(header, data.length);
        int32(header, data.length);
        int16(header, nameBytes.length);
        int16(header, 4 + padding);
        header.writeBytes(nameBytes);
        header.write('F');
        header.write('B');
        int16(header, padding);
        for (int i = 0; i < padding; i++) {
            header.write('Z');
        }
        entries.add(new Written(nameBytes, crc.getValue(), data.length, position));
        write(header.toByteArray());
        write(data);
    }

    /** Writes the central directory and its end record. */
    void finish() throws IOException {
        long directoryStart = position;
        ByteArrayOutputStream directory = new ByteArrayOutputStream();
        for (Written entry : entries) {
            int32(directory, 0x02014b50);
            int16(directory, 20); // made by
            int16(directory, 20); // needed
            int16(directory, UTF8_NAMES);
            int16(directory, 0);
            int16(directory, 0);
            int16(directory, 0);
            int32(directory, entry.crc());
            int32(directory, entry.size());
            int32(directory, entry.size());
            int16(directory, entry.name().length);
            int16(directory, 0); // extra
            int16(directory, 0); // comment
            int16(directory, 0); // disk
            int16(directory, 0); // internal attributes
            int32(directory, 0); // external attributes
            int32(directory, entry.offset());
            directory.writeBytes(entry.name());
        }
        byte[] central = directory.toByteArray();
        write(central);
        ByteArrayOutputStream end = new ByteArrayOutputStream();
        int32(end, 0x06054b50);
        int16(end, 0);
        int16(end, 0);
        int16(end, entries.size());
        int16(end, entries.size());
        int32(end, central.length);
        int32(end, directoryStart);
        int16(end, 0);
        write(end.toByteArray());
        out.flush();
    }

    /** Whether the file stays within the classic zip limits this writer supports (no zip64). */
    static boolean fits(long totalBytes, int entryCount) {
        return totalBytes < 0xffffffffL - (long) entryCount * 1024 && entryCount < 0xffff;
    }

    private void write(byte[] bytes) throws IOException {
        out.write(bytes);
        position += bytes.length;
    }

    private static void int16(ByteArrayOutputStream out, int v) {
        out.write(v & 0xff);
        out.write((v >>> 8) & 0xff);
    }

    private static void int32(ByteArrayOutputStream out, long v) {
        for (int i = 0; i < 4; i++) {
            out.write((int) (v >>> (8 * i)) & 0xff);
        }
    }
}
