package dev.loupe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Small text files (configs, metrics, loss curves) written whole or not at all: a run stopped midway, or a
 * disk that fills up, leaves the previous file or none, never half of one.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /**
     * Writes {@code text} as UTF-8 under a temporary name beside {@code file} (creating its folder), then moves
     * it into place, atomically where the file system can.
     */
    public static void writeString(Path file, String text) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path temp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try {
            Files.writeString(temp, text, StandardCharsets.UTF_8);
            try {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
