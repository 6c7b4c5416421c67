package dev.loupe.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

/**
 * The header of a safetensors file whose tensors the benchmark fixtures stream to disk one after the
 * other (they are too large to build in memory first): JSON with each tensor's dtype, shape and byte
 * range in order, padded with spaces to a multiple of 8 bytes.
 */
final class SafetensorsHeaderBytes {
    /** One tensor of such a file: its name, shape and size in bytes. */
    interface Entry {
        String name();

        long[] shape();

        long bytes();
    }

    private SafetensorsHeaderBytes() {}

    /** The header for {@code entries}, all of {@code dtype} ({@code F32}, {@code BF16}), laid out in order. */
    static byte[] of(String dtype, List<? extends Entry> entries) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Entry entry : entries) {
            ObjectNode node = root.putObject(entry.name());
            node.put("dtype", dtype);
            ArrayNode shape = node.putArray("shape");
            Arrays.stream(entry.shape()).forEach(shape::add);
            node.putArray("data_offsets").add(offset).add(offset + entry.bytes());
            offset += entry.bytes();
        }
        byte[] header;
        try {
            header = json.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] padded = Arrays.copyOf(header, (header.length + 7) / 8 * 8);
        Arrays.fill(padded, header.length, padded.length, (byte) ' ');
        return padded;
    }
}
