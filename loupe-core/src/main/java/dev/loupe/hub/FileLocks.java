package dev.loupe.hub;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An exclusive lock on a {@code .lock} file, held against other processes (an OS file lock) and
 * against other threads of this JVM (which the OS lock does not separate).
 */
final class FileLocks {
    private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

    private FileLocks() {}

    /** Held until closed. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    /** Blocks until this thread holds {@code lockFile}; creates it (and its folder) if needed. */
    static Held lock(Path lockFile) throws IOException {
        ReentrantLock threads = IN_PROCESS.computeIfAbsent(lockFile.toAbsolutePath().normalize(),
                k -> new ReentrantLock());
        threads.lock();
        FileChannel channel = null;
        FileLock processes = null;
        try {
            Files.createDirectories(lockFile.getParent());
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                processes = channel.lock();
            } catch (IOException e) {
                // Some network file systems have no locks; as huggingface_hub's WeakFileLock, go on with
                // the in-process lock only: the atomic rename still keeps the cache whole.
                processes = null;
            }
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                channel.close();
            }
            threads.unlock();
            throw e;
        }
        FileChannel heldChannel = channel;
        FileLock heldLock = processes;
        return () -> {
            try {
                if (heldLock != null) {
                    heldLock.release();
                }
                heldChannel.close();
            } catch (IOException e) {
                // Closing the channel releases the lock in any case.
            } finally {
                threads.unlock();
            }
        };
    }
}
