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
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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
        if (headerBytes.get(0) != '{') {
            // The reference implementation refuses leading whitespace (only trailing padding is allowed).
            throw new CheckpointException(file + ": the header must start with '{', but it starts with byte 0x"
                    + String.format("%02x", headerBytes.get(0) & 0xff) + " (only trailing spaces may pad it):"
                    + " the header length or the header is corrupt. " + REDOWNLOAD);
        }
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
        checkTiling(file, tensors.values(), fileSize, dataStart);
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

    /**
     * Checks that the tensors' byte ranges tile the data region exactly, as the reference
     * implementation (the Rust {@code safetensors} crate) requires: sorted by offset, each tensor
     * starts where the previous one ends (the first at 0), and the last one ends where the file
     * does. A gap, an overlap or bytes after the last tensor mean the header does not describe the
     * data, typically because the header length is off by a few bytes, which would shift every
     * tensor onto its neighbour's bytes.
     */
    private static void checkTiling(Path file, Collection<TensorInfo> tensors, long fileSize, long dataStart) {
        List<TensorInfo> sorted = new ArrayList<>();
        List<TensorInfo> empty = new ArrayList<>();
        for (TensorInfo t : tensors) {
            (t.byteSize() > 0 ? sorted : empty).add(t);
        }
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        Set<Long> boundaries = new HashSet<>();
        boundaries.add(0L);
        long reached = 0;
        TensorInfo previous = null;
        for (TensorInfo current : sorted) {
            if (current.begin() < reached) {
                throw new CheckpointException(file + ": tensors '" + previous.name() + "' (bytes ["
                        + previous.begin() + ", " + previous.end() + ")) and '" + current.name() + "' (bytes ["
                        + current.begin() + ", " + current.end() + ")) overlap: the header is corrupt. "
                        + REDOWNLOAD);
            }
            if (current.begin() > reached) {
                String before = previous == null ? "the data region starts at byte 0"
                        : "the tensor before it, '" + previous.name() + "', ends at byte " + reached;
                throw new CheckpointException(file + ": tensor '" + current.name() + "' starts at byte "
                        + current.begin() + " of the data region, but " + before + ": " + (current.begin() - reached)
                        + " bytes in between belong to no tensor. In a safetensors file the tensors fill the data"
                        + " region exactly, without gaps; the header is corrupt. " + REDOWNLOAD);
            }
            reached = current.end();
            boundaries.add(reached);
            previous = current;
        }
        long dataSize = fileSize - dataStart;
        if (reached > dataSize) {
            throw new CheckpointException(file + " is truncated: its header describes " + reached + " bytes of"
                    + " tensor data (tensor '" + previous.name() + "' ends there), so the file should be at least "
                    + (dataStart + reached) + " bytes, but it is "
                    + fileSize + " bytes. The download or copy was probably interrupted; re-download the file.");
        }
        if (reached < dataSize) {
            String last = previous == null ? "it describes no tensor data"
                    : "its last tensor, '" + previous.name() + "', ends at byte " + reached + " of the data region";
            throw new CheckpointException(file + " has " + bytes(dataSize - reached) + " after its tensor data ("
                    + last + ", which is " + dataSize + " bytes long): a safetensors file ends where its last"
                    + " tensor does. The header length field (" + (dataStart - 8) + " bytes) may be wrong, or"
                    + " bytes were appended to the file; either way the header does not describe the data. "
                    + REDOWNLOAD);
        }
        for (TensorInfo t : empty) {
            if (!boundaries.contains(t.begin())) {
                TensorInfo around = sorted.stream().filter(s -> s.begin() < t.begin() && t.begin() < s.end())
                        .findFirst().orElse(null);
                String where = around == null ? "beyond the end of the data region (" + dataSize + " bytes)"
                        : "inside tensor '" + around.name() + "' (bytes [" + around.begin() + ", " + around.end()
                                + "))";
                throw new CheckpointException(file + ": the empty tensor '" + t.name() + "' is placed at byte "
                        + t.begin() + " of the data region, " + where + "; an empty tensor sits between two"
                        + " others (or at either end), so the header is corrupt. " + REDOWNLOAD);
            }
        }
    }

    private static String bytes(long n) {
        return n == 1 ? "1 byte" : n + " bytes";
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
