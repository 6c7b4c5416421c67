package dev.loupe.bench;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/** Generated model folders: built under a temporary name, then moved into place whole. */
final class FixtureFolder {
    private FixtureFolder() {}

    /**
     * Moves the finished folder {@code temp} to {@code dir}, replacing a stale one; if another process
     * put a folder there first, keeps it when {@code complete} says it is whole.
     */
    static void publish(Path temp, Path dir, BooleanSupplier complete) throws IOException {
        if (Files.exists(dir)) {
            // Stale or incomplete (another generator version): move it aside, then delete it.
            Path old = dir.resolveSibling(temp.getFileName() + ".old");
            Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
            deleteRecursively(old);
        }
        try {
            Files.move(temp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
            deleteRecursively(temp);
            if (!complete.getAsBoolean()) {
                throw new IOException("Could not move the generated model into " + dir, e);
            }
        }
    }

    /** Deletes {@code dir} and everything in it, if it exists. */
    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
