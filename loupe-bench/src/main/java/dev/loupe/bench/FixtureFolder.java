package dev.loupe.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/** Generated model folders: built under a temporary name, then moved into place whole. */
final class FixtureFolder {
    private static final String TEMP_MARKER = ".tmp-";

    private FixtureFolder() {}

    /** Writes a model folder's files into an empty folder. */
    @FunctionalInterface
    interface Writer {
        void write(Path folder) throws IOException;
    }

    /**
     * {@code dir} if {@code complete} says it is whole; otherwise generates it with {@code writer}
     * under a temporary name (removing temporaries that killed runs left behind) and moves it into place.
     *
     * @param what the model, for the log line
     */
    static Path cachedOrGenerated(Path dir, String what, BooleanSupplier complete, Writer writer) {
        if (complete.getAsBoolean()) {
            return dir;
        }
        deleteAbandonedTemporaries(dir);
        Path temp = dir.resolveSibling(dir.getFileName() + TEMP_MARKER + ProcessHandle.current().pid() + "-"
                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36));
        try {
            Files.createDirectories(temp);
            long start = System.nanoTime();
            writer.write(temp);
            System.err.printf("[loupe-bench] generated %s in %.1f s: %s%n", what, (System.nanoTime() - start) / 1e9, dir);
            publish(temp, dir, complete);
            return dir;
        } catch (IOException | RuntimeException e) {
            try {
                deleteRecursively(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new UncheckedIOException("Could not generate the benchmark model in " + dir, (IOException) e);
        }
    }

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

    /** Deletes {@code <dir>.tmp-<pid>-...} folders whose generating process is gone (up to 3.4 GB each). */
    private static void deleteAbandonedTemporaries(Path dir) {
        Path parent = dir.toAbsolutePath().getParent();
        String prefix = dir.getFileName() + TEMP_MARKER;
        try (Stream<Path> siblings = Files.list(parent)) {
            for (Path sibling : siblings.toList()) {
                String name = sibling.getFileName().toString();
                if (!name.startsWith(prefix)) {
                    continue;
                }
                String rest = name.substring(prefix.length());
                int dash = rest.indexOf('-');
                try {
                    long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
                    if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                        continue;
                    }
                } catch (NumberFormatException e) {
                    continue;
                }
                deleteRecursively(sibling);
            }
        } catch (IOException e) {
            System.err.println("[loupe-bench] could not clean up old temporary folders next to " + dir + ": " + e);
        }
    }
}
