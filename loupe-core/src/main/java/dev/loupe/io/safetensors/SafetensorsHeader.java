package dev.loupe.io.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.loupe.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A parsed and fully validated safetensors header. Nothing in it is trusted until every entry has
 * been checked against the file's real size, because the offsets are later handed to mmap and to
 * native code, where a bad one crashes the JVM instead of throwing.
 */
final class SafetensorsHeader {
    /** Real headers are a few hundred KB at most; anything near this is corruption, not a model. */
    static final long MAX_HEADER_BYTES = 100L * 1000 * 1000;

    static final String METADATA_KEY = "__metadata__";

    private static final String REDOWNLOAD = "Re-download or re-export the file.";

    // Duplicate names would otherwise silently keep the last entry.
    static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** The entries in header order. */
    final Map<String, TensorInfo> tensors;
    final Map<String, String> metadata;
    /** The absolute file position of the data region: 8 + header length. */
    final long dataStart;

    private SafetensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata, long dataStart) {
        this.tensors = tensors;
        this.metadata = metadata;
        this.dataStart = dataStart;
    }

    /** Reads and validates the header of {@code file} through {@code channel}. */
    static SafetensorsHeader read(Path file, FileChannel channel) throws IOException {
        long fileSize = channel.size();
        if (fileSize < 8) {
            throw new CheckpointException(file + " is only " + fileSize + " bytes, but a safetensors file starts"
                    + " with an 8-byte header length: it is empty or truncated. " + REDOWNLOAD);
        }
        ByteBuffer prefix = readFully(file, channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = prefix.getLong(0);
        // A negative value is an unsigned length above 2^63: just as absurd.
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw new CheckpointException(file + ": the header length field says " + Long.toUnsignedString(headerLength)
                    + " bytes (limit " + MAX_HEADER_BYTES + "): this is not a safetensors file or it is corrupt. "
                    + REDOWNLOAD);
        }
        if (headerLength > fileSize - 8) {
            throw new CheckpointException(file + ": the header length field says " + headerLength + " bytes, but the"
                    + " file has only " + (fileSize - 8) + " bytes after it: the file is truncated or not a"
                    + " safetensors file. " + REDOWNLOAD);
        }
        ByteBuffer headerBytes = readFully(file, channel, 8, (int) headerLength);
        JsonNode root = parseJson(file, headerBytes.array());
        long dataStart = 8 + headerLength;

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(file, field.getValue());
            } else {
                tensors.put(field.getKey(), parseEntry(file, field.getKey(), field.getValue()));
            }
        }
        checkWithinFile(file, tensors.values(), fileSize, dataStart);
        checkNoOverlap(file, tensors.values());
        return new SafetensorsHeader(Collections.unmodifiableMap(tensors), metadata, dataStart);
    }

    private static ByteBuffer readFully(Path file, FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new CheckpointException(file + " ended while its header was being read: it is truncated"
                        + " or was changed while being opened. " + REDOWNLOAD);
            }
        }
        return buffer;
    }

    private static JsonNode parseJson(Path file, byte[] json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new CheckpointException(file + ": the header is not valid JSON (" + e.getOriginalMessage()
                    + "): this is not a safetensors file or it is corrupt. " + REDOWNLOAD, e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": the header could not be parsed: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(file + ": the header must be a JSON object mapping tensor names to"
                    + " entries, but it is " + describe(root) + ". " + REDOWNLOAD);
        }
        return root;
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node) {
        if (!node.isObject()) {
            throw new CheckpointException(file + ": \"" + METADATA_KEY + "\" must be a JSON object of strings, but it"
                    + " is " + describe(node) + ". " + REDOWNLOAD);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw new CheckpointException(file + ": metadata value \"" + field.getKey() + "\" must be a string,"
                        + " but it is " + describe(field.getValue()) + ". " + REDOWNLOAD);
            }
            metadata.put(field.getKey(), field.getValue().textValue());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode entry) {
        String where = file + ": tensor '" + name + "'";
        if (!entry.isObject()) {
            throw new CheckpointException(where + " must be a JSON object with dtype, shape and data_offsets, but it"
                    + " is " + describe(entry) + ". " + REDOWNLOAD);
        }
        JsonNode dtypeNode = entry.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new CheckpointException(where + " has no dtype string (found " + describe(dtypeNode) + "). "
                    + REDOWNLOAD);
        }
        String dtypeName = dtypeNode.textValue();
        SafetensorsDtype dtype = SafetensorsDtype.of(dtypeName);
        if (dtype == null) {
            throw new CheckpointException(where + " has dtype \"" + dtypeName + "\", which the safetensors format"
                    + " does not define, so its size cannot be checked. Re-export the file with a standard"
                    + " dtype (Loupe loads " + SafetensorsDtype.LOADABLE + ").");
        }
        long[] shape = readLongs(where, "shape", entry.get("shape"), -1);
        long[] offsets = readLongs(where, "data_offsets", entry.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw new CheckpointException(where + " has data_offsets [" + begin + ", " + end + "] with begin > end. "
                    + REDOWNLOAD);
        }
        TensorInfo info = new TensorInfo(name, dtypeName, shape, begin, end);
        long expectedBytes;
        try {
            expectedBytes = Math.multiplyExact(info.numel(), dtype.bytes);
        } catch (ArithmeticException e) {
            throw new CheckpointException(where + " has shape " + Arrays.toString(shape)
                    + ", whose size overflows a 64-bit count. " + REDOWNLOAD, e);
        }
        if (info.byteSize() != expectedBytes) {
            throw new CheckpointException(where + " is " + dtypeName + Arrays.toString(shape) + ", which"
                    + " needs " + expectedBytes + " bytes, but its data_offsets [" + begin + ", " + end + "] span "
                    + info.byteSize() + " bytes: the header is corrupt. " + REDOWNLOAD);
        }
        return info;
    }

    /** Reads an array of non-negative integers; {@code length} -1 means any length. */
    private static long[] readLongs(String where, String key, JsonNode node, int length) {
        String expected = length < 0 ? "an array of non-negative integers" : "an array of " + length
                + " non-negative integers";
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new CheckpointException(where + ": " + key + " must be " + expected + ", but it is "
                    + describe(node) + ". " + REDOWNLOAD);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode item = node.get(i);
            if (!item.isIntegralNumber() || !item.canConvertToLong() || item.longValue() < 0) {
                throw new CheckpointException(where + ": " + key + " must be " + expected + ", but it is " + node
                        + ". " + REDOWNLOAD);
            }
            values[i] = item.longValue();
        }
        return values;
    }

    private static void checkWithinFile(Path file, Iterable<TensorInfo> tensors, long fileSize, long dataStart) {
        TensorInfo last = null;
        for (TensorInfo t : tensors) {
            if (last == null || t.end() > last.end()) {
                last = t;
            }
        }
        long dataSize = fileSize - dataStart;
        if (last != null && last.end() > dataSize) {
            throw new CheckpointException(file + " is truncated: its header describes " + last.end() + " bytes of"
                    + " tensor data (tensor '" + last.name() + "' ends there), so the file should be at least "
                    + (dataStart + last.end()) + " bytes, but it is " + fileSize + " bytes. The download or copy"
                    + " was probably interrupted; re-download the file.");
        }
    }

    private static void checkNoOverlap(Path file, Iterable<TensorInfo> tensors) {
        List<TensorInfo> sorted = new ArrayList<>();
        for (TensorInfo t : tensors) {
            // An empty tensor owns no bytes, so it cannot overlap anything.
            if (t.byteSize() > 0) {
                sorted.add(t);
            }
        }
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo previous = sorted.get(i - 1);
            TensorInfo current = sorted.get(i);
            if (current.begin() < previous.end()) {
                throw new CheckpointException(file + ": tensors '" + previous.name() + "' (bytes ["
                        + previous.begin() + ", " + previous.end() + ")) and '" + current.name() + "' (bytes ["
                        + current.begin() + ", " + current.end() + ")) overlap: the header is corrupt. "
                        + REDOWNLOAD);
            }
        }
    }

    private static String describe(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "missing";
        }
        String text = node.toString();
        String shown = text.length() > 80 ? text.substring(0, 77) + "..." : text;
        return node.getNodeType().toString().toLowerCase(Locale.ROOT) + " " + shown;
    }
}
