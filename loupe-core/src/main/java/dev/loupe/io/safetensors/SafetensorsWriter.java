package dev.loupe.io.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes safetensors files that the Hugging Face {@code safetensors} library and
 * {@link SafetensorsFile} read back exactly.
 *
 * <p>The file is written under a temporary name in the target's directory and then renamed over
 * the target, so a crash or an error never leaves a half-written file, and a reader that has the
 * old file mapped keeps seeing the old bytes.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    /**
     * Writes tensors without metadata; see {@link #write(Path, Map, Map)}.
     *
     * @param file the file to create or replace
     * @param tensors the tensors by name, in the order they should appear in the header
     * @throws LoupeException if a name is empty or a dtype cannot be written
     * @throws CheckpointException if the file cannot be written
     */
    public static void write(Path file, Map<String, NDArray> tensors) {
        write(file, tensors, Map.of());
    }

    /**
     * Writes tensors and a {@code __metadata__} section. The header lists the tensors in the map's
     * iteration order (use a {@link java.util.LinkedHashMap} to control it) and is padded with
     * spaces to a multiple of 8 bytes, so that every tensor offset is 8-byte aligned when the
     * tensor sizes are. The data is little-endian and C-contiguous, whatever the arrays' strides.
     *
     * @param file the file to create or replace; missing parent directories are created
     * @param tensors the tensors by name; dtypes FLOAT32, FLOAT16, FLOAT64, INT64, INT32, INT8,
     *     UINT8 and BOOLEAN
     * @param metadata string pairs stored under {@code __metadata__}; omitted when empty
     * @throws LoupeException if a name is empty or reserved, or a dtype cannot be written
     * @throws CheckpointException if the file cannot be written; the target is then unchanged
     */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        // Everything is checked before the disk is touched.
        List<Entry> entries = new ArrayList<>();
        byte[] header = header(file, tensors, metadata, entries);

        Path target = file.toAbsolutePath();
        Path temp = null;
        try {
            Files.createDirectories(target.getParent());
            Path candidate = target.resolveSibling("." + target.getFileName() + "."
                    + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            // CREATE_NEW rather than createTempFile, which would give the final file mode 0600.
            try (FileChannel channel = FileChannel.open(candidate, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                temp = candidate;
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                length.putLong(0, header.length);
                writeFully(channel, length);
                writeFully(channel, ByteBuffer.wrap(header));
                for (Entry entry : entries) {
                    writeFully(channel, littleEndianBytes(file, entry));
                }
                // Without this a crash right after the rename could leave an empty file in place.
                channel.force(true);
            }
            moveIntoPlace(temp, target);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(temp, e);
            if (e instanceof LoupeException loupe) {
                throw loupe;
            }
            throw new CheckpointException("Could not write " + file + ": " + e
                    + ". Check that the directory exists, is writable and has free space.", e);
        }
    }

    /** One tensor to write, with its safetensors dtype and byte count. */
    private record Entry(String name, NDArray array, String dtype, int elementBytes, long bytes) {}

    private static byte[] header(Path file, Map<String, NDArray> tensors, Map<String, String> metadata,
            List<Entry> entries) {
        ObjectNode root = SafetensorsHeader.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsHeader.METADATA_KEY);
            metadata.forEach((key, value) -> {
                if (key == null || value == null) {
                    throw new LoupeException("Cannot write " + file + ": metadata may not contain null keys or"
                            + " values (found " + key + " = " + value + ").");
                }
                meta.put(key, value);
            });
        }
        long offset = 0;
        for (Map.Entry<String, NDArray> tensor : tensors.entrySet()) {
            String name = tensor.getKey();
            NDArray array = tensor.getValue();
            if (name == null || name.isEmpty() || name.equals(SafetensorsHeader.METADATA_KEY)) {
                throw new LoupeException("Cannot write " + file + ": tensor name " + (name == null ? "null"
                        : "'" + name + "'") + " is not allowed; every tensor needs a non-empty name other"
                        + " than " + SafetensorsHeader.METADATA_KEY + ".");
            }
            if (array == null) {
                throw new LoupeException("Cannot write " + file + ": tensor '" + name + "' is null.");
            }
            DataType type = array.getDataType();
            String dtype = SafetensorsDtype.nameFor(type);
            if (dtype == null) {
                throw new LoupeException("Cannot write " + file + ": tensor '" + name + "' has dtype " + type.name()
                        + ", which the writer does not support (it writes FLOAT32, FLOAT16, FLOAT64, INT64,"
                        + " INT32, INT8, UINT8 and BOOLEAN). Convert it with toType(...) first.");
            }
            long[] shape = array.getShape().getShape();
            long bytes = array.getShape().size() * type.getNumOfBytes();
            ObjectNode node = root.putObject(name);
            node.put("dtype", dtype);
            ArrayNode shapeNode = node.putArray("shape");
            Arrays.stream(shape).forEach(shapeNode::add);
            node.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
            entries.add(new Entry(name, array, dtype, type.getNumOfBytes(), bytes));
        }
        byte[] json;
        try {
            json = SafetensorsHeader.JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new CheckpointException("Could not encode the header of " + file + ": " + e.getMessage(), e);
        }
        // Spaces are the padding the format allows; they keep the data region 8-byte aligned.
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    /** Returns the tensor's bytes in little-endian order, swapping only on a big-endian platform. */
    private static ByteBuffer littleEndianBytes(Path file, Entry entry) {
        ByteBuffer data = entry.array().toByteBuffer();
        if (data.remaining() != entry.bytes()) {
            throw new CheckpointException("Could not write " + file + ": DJL returned " + data.remaining()
                    + " bytes for tensor '" + entry.name() + "' (" + entry.dtype() + " " + entry.array().getShape()
                    + "), but " + entry.bytes() + " were expected.");
        }
        if (data.order() == ByteOrder.LITTLE_ENDIAN || entry.elementBytes() == 1) {
            return data;
        }
        ByteBuffer swapped = ByteBuffer.allocate(data.remaining());
        int size = entry.elementBytes();
        for (int element = data.position(); element < data.limit(); element += size) {
            for (int i = 0; i < size; i++) {
                swapped.put(data.get(element + size - 1 - i));
            }
        }
        return swapped.flip();
    }

    private static void writeFully(FileChannel channel, ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            channel.write(data);
        }
    }

    private static void moveIntoPlace(Path temp, Path target) throws IOException {
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteQuietly(Path temp, Exception cause) {
        if (temp == null) {
            return;
        }
        try {
            Files.deleteIfExists(temp);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }
}
