package dev.loupe.sae.format;

import dev.loupe.CheckpointException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * numpy's {@code .npz}: a zip of {@code .npy} files, one array per entry named {@code <key>.npy}. Each
 * entry is read by {@link NpyReader} (float32 only); entry sizes the zip declares are not trusted.
 */
public final class NpzReader {
    /** At most this many entries. */
    private static final int MAX_ENTRIES = 1024;

    private NpzReader() {}

    /**
     * The arrays of {@code file} by key (the entry name without {@code .npy}), in the zip's order.
     *
     * @throws CheckpointException if it is not a zip of float32 {@code .npy} entries, naming the entry
     */
    public static Map<String, NpyArray> read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + " is missing");
        }
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry entry = entries.nextElement();
                if (entry.isDirectory()) {
                    continue;
                }
                if (arrays.size() >= MAX_ENTRIES) {
                    throw new CheckpointException(file + ": more than " + MAX_ENTRIES + " entries");
                }
                String name = entry.getName();
                if (!name.endsWith(".npy")) {
                    throw new CheckpointException(file + ": entry " + name + " is not a .npy array");
                }
                String key = name.substring(0, name.length() - 4);
                try (InputStream in = zip.getInputStream(entry)) {
                    arrays.put(key, NpyReader.read(in, file + " (" + name + ")"));
                }
            }
        } catch (ZipException e) {
            throw new CheckpointException(file + " is not a valid .npz (zip) file: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException(file + " cannot be read: " + e.getMessage(), e);
        }
        return arrays;
    }
}
