package dev.loupe.io.torch;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Writes zips laid out like torch.save's: {@code <prefix>/data.pkl}, {@code data/<key>}, byteorder, version. */
final class TorchZip {
    private final Map<String, byte[]> entries = new LinkedHashMap<>();
    private final String prefix;
    private boolean deflate;

    private TorchZip(String prefix, byte[] pickle) {
        this.prefix = prefix;
        entries.put("data.pkl", pickle);
        entries.put("byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        entries.put("version", "3\n".getBytes(StandardCharsets.US_ASCII));
    }

    static TorchZip of(byte[] pickle) {
        return new TorchZip("archive", pickle);
    }

    static TorchZip of(String prefix, byte[] pickle) {
        return new TorchZip(prefix, pickle);
    }

    TorchZip storage(String key, byte[] bytes) {
        return entry("data/" + key, bytes);
    }

    /** Adds or replaces an entry; the name is relative to the prefix. */
    TorchZip entry(String name, byte[] bytes) {
        entries.put(name, bytes);
        return this;
    }

    TorchZip without(String name) {
        entries.remove(name);
        return this;
    }

    TorchZip deflated() {
        deflate = true;
        return this;
    }

    Path write(Path file) {
        try (OutputStream stream = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(stream)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(prefix + "/" + e.getKey());
                byte[] bytes = e.getValue();
                if (!deflate) {
                    // torch.save writes STORED entries.
                    CRC32 crc = new CRC32();
                    crc.update(bytes);
                    entry.setMethod(ZipEntry.STORED);
                    entry.setSize(bytes.length);
                    entry.setCompressedSize(bytes.length);
                    entry.setCrc(crc.getValue());
                }
                zip.putNextEntry(entry);
                zip.write(bytes);
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    static byte[] floats(float... values) {
        ByteBuffer buffer = le(values.length * 4);
        for (float v : values) {
            buffer.putFloat(v);
        }
        return buffer.array();
    }

    static byte[] doubles(double... values) {
        ByteBuffer buffer = le(values.length * 8);
        for (double v : values) {
            buffer.putDouble(v);
        }
        return buffer.array();
    }

    static byte[] shorts(int... values) {
        ByteBuffer buffer = le(values.length * 2);
        for (int v : values) {
            buffer.putShort((short) v);
        }
        return buffer.array();
    }

    static byte[] ints(int... values) {
        ByteBuffer buffer = le(values.length * 4);
        for (int v : values) {
            buffer.putInt(v);
        }
        return buffer.array();
    }

    static byte[] longs(long... values) {
        ByteBuffer buffer = le(values.length * 8);
        for (long v : values) {
            buffer.putLong(v);
        }
        return buffer.array();
    }

    /** 0, 1, ..., n-1 as float32. */
    static byte[] iota(int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = i;
        }
        return floats(values);
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
