package dev.loupe.viz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ThreadLocalRandom;

/** Writes a file whole or not at all: to a temporary name beside it, then moved into place. */
final class AtomicFiles {
    /** Writes the content to the path it is given. */
    @FunctionalInterface
    interface Writer {
        void write(Path file) throws IOException;
    }

    private AtomicFiles() {}

    /**
     * Creates missing parent folders, lets {@code writer} write a temporary file beside {@code file}
     * (with the usual permissions, not a temporary file's private ones) and moves it into place.
     *
     * @param what what the file is, for the error message ("report", "image")
     */
    static Path write(Path file, String what, Writer writer) {
        Path absolute = file.toAbsolutePath();
        Path temporary = absolute.resolveSibling("." + absolute.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            Files.createDirectories(absolute.getParent());
            try {
                writer.write(temporary);
                Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(temporary);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not write the " + what + " " + file + ": " + e.getMessage(), e);
        }
        return file;
    }
}
