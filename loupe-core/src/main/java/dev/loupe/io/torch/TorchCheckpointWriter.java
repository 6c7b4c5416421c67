package dev.loupe.io.torch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a state dict as {@code torch.save(state_dict, path)} does, so that {@code torch.load}
 * (and {@link TorchCheckpoint}) read it back: a zip whose entries live under the file's stem
 * ({@code params/} for {@code params.pt}), in torch's order:
 * <pre>
 *   params/data.pkl                  protocol-2 pickle of an OrderedDict of _rebuild_tensor_v2 calls
 *   params/.format_version           "1"
 *   params/.storage_alignment        "64"
 *   params/byteorder                 "little"
 *   params/data/0, params/data/1 …   each tensor's little-endian bytes, one storage per tensor
 *   params/version                   "3\n"
 *   params/.data/serialization_id    40 digits (here derived from the content, so equal inputs give equal files)
 * </pre>
 * Entries are STORED and their data starts on a 64-byte boundary, as torch lays them out. For a
 * state dict of float32 tensors, {@code data.pkl} is byte for byte what torch writes.
 *
 * <p>The file is written under a temporary name and moved into place, so it is never half-written.
 */
public final class TorchCheckpointWriter {
    private static final int DIGITS = 40;

    private TorchCheckpointWriter() {}

    /** Writes {@code tensors} with no module metadata; see {@link #write(Path, Map, Map)}. */
    public static void write(Path file, Map<String, NDArray> tensors) {
        write(file, tensors, Map.of());
    }

    /**
     * Writes {@code tensors} (in the map's order) as a torch zip checkpoint.
     *
     * @param file the {@code .pt} file to create or replace
     * @param tensors name to tensor; dtypes FLOAT32, FLOAT16, FLOAT64, INT64, INT32, INT8, UINT8, BOOLEAN
     * @param moduleVersions what {@code module.state_dict()._metadata} holds: module prefix
     *     ({@code ""} for the root, {@code "0"}, {@code "1"} … for a ModuleList's children) to its
     *     {@code version}; {@code load_state_dict} reads it. Empty for a plain dict.
     * @throws LoupeException for an unnamed tensor or an unsupported dtype
     * @throws CheckpointException if the file cannot be written (the target is then unchanged)
     */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, Integer> moduleVersions) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(moduleVersions, "moduleVersions");
        List<StateDictPickler.Tensor> described = new ArrayList<>();
        List<byte[]> storages = new ArrayList<>();
        long total = 0;
        for (Map.Entry<String, NDArray> entry : tensors.entrySet()) {
            String name = entry.getKey();
            NDArray array = entry.getValue();
            if (name == null || name.isEmpty() || array == null) {
                throw new LoupeException("Cannot write " + file + ": every tensor needs a non-empty name and a value"
                        + " (got " + name + " = " + array + ").");
            }
            StorageType type = storageFor(file, name, array.getDataType());
            String key = Integer.toString(described.size());
            described.add(new StateDictPickler.Tensor(name, type, key, array.getShape().getShape()));
            byte[] bytes = littleEndianBytes(array, type);
            storages.add(bytes);
            total += bytes.length + 2L * AlignedZip.ALIGNMENT;
        }
        if (!AlignedZip.fits(total, storages.size() + 7)) {
            throw new LoupeException("Cannot write " + file + ": " + total + " bytes need a zip64 archive, which this"
                    + " writer does not produce; write safetensors instead.");
        }
        String stem = stem(file);
        byte[] pickle = StateDictPickler.pickle(described, moduleVersions);

        Path target = file.toAbsolutePath();
        Path temp = null;
        try {
            Files.createDirectories(target.getParent());
            temp = target.resolveSibling("." + target.getFileName() + "."
                    + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp,
                    java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE), 1 << 16)) {
                AlignedZip zip = new AlignedZip(out);
                zip.add(stem + "/data.pkl", pickle);
                zip.add(stem + "/.format_version", ascii("1"));
                zip.add(stem + "/.storage_alignment", ascii(Integer.toString(AlignedZip.ALIGNMENT)));
                zip.add(stem + "/byteorder", ascii("little"));
                for (int i = 0; i < storages.size(); i++) {
                    zip.add(stem + "/data/" + described.get(i).key(), storages.get(i));
                }
                zip.add(stem + "/version", ascii("3\n"));
                zip.add(stem + "/.data/serialization_id", ascii(serializationId(pickle, storages)));
                zip.finish();
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (e instanceof LoupeException loupe) {
                throw loupe;
            }
            throw new CheckpointException("Could not write " + file + ": " + e
                    + ". Check that the directory exists, is writable and has free space.", e);
        }
    }

    /** torch names the archive's folder after the file: {@code params.pt} → {@code params}. */
    static String stem(Path file) {
        Path name = file.getFileName();
        String base = name == null ? "" : name.toString();
        int dot = base.lastIndexOf('.');
        String stem = dot > 0 ? base.substring(0, dot) : base;
        return stem.isEmpty() || !stem.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '/') ? "archive" : stem;
    }

    private static StorageType storageFor(Path file, String name, DataType type) {
        return switch (type) {
            case FLOAT32 -> StorageType.FLOAT;
            case FLOAT16 -> StorageType.HALF;
            case FLOAT64 -> StorageType.DOUBLE;
            case INT64 -> StorageType.LONG;
            case INT32 -> StorageType.INT;
            case INT8 -> StorageType.CHAR;
            case UINT8 -> StorageType.BYTE;
            case BOOLEAN -> StorageType.BOOL;
            default -> throw new LoupeException("Cannot write " + file + ": tensor '" + name + "' has dtype " + type
                    + "; convert it to float32 (or another dtype torch.save stores) first.");
        };
    }

    private static byte[] littleEndianBytes(NDArray array, StorageType type) {
        ByteBuffer data = array.toByteBuffer();
        byte[] bytes = new byte[data.remaining()];
        if (data.order() == ByteOrder.LITTLE_ENDIAN || type.bytes == 1) {
            data.get(bytes);
            return bytes;
        }
        for (int element = 0; element < bytes.length; element += type.bytes) {
            for (int i = 0; i < type.bytes; i++) {
                bytes[element + i] = data.get(data.position() + element + type.bytes - 1 - i);
            }
        }
        return bytes;
    }

    /** torch writes a random 40-digit id; a digest of the content keeps the output reproducible. */
    private static String serializationId(byte[] pickle, List<byte[]> storages) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(pickle);
            storages.forEach(sha::update);
            BigInteger value = new BigInteger(1, sha.digest()).mod(BigInteger.TEN.pow(DIGITS));
            String digits = value.toString();
            return "0".repeat(DIGITS - digits.length()) + digits;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
