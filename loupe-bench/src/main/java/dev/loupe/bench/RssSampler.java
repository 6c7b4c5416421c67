package dev.loupe.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Samples this process's resident memory from {@code /proc/self/status} on a daemon thread: the
 * anonymous pages ({@code RssAnon}: libtorch's tensors, the Java heap, malloc) and the file-backed
 * ones ({@code RssFile}: memory-mapped checkpoint pages, shared libraries) separately, keeping the
 * peak of each, because the kernel's own peak ({@code VmHWM}) is only their sum. Linux only.
 */
final class RssSampler implements AutoCloseable {
    private static final Path STATUS = Path.of("/proc/self/status");
    /**
     * A sample this late means the whole JVM stood still: on a shared machine, stopped from outside
     * (SIGSTOP) or starved of CPU; the time it stood still is counted, so that timings it spoils show.
     */
    private static final long STALL_NANOS = 1_000_000_000L;

    /**
     * Peaks in bytes: of RssAnon, of RssFile, of their sum as sampled, the kernel's VmHWM, and the Java
     * heap's committed size (part of RssAnon once touched; it tells the JVM's share from libtorch's);
     * and the milliseconds the sampler found the JVM standing still for a second or more at a time.
     */
    record Peak(long anon, long file, long sum, long hwm, long heap, long stalledMs) {}

    private final Thread thread;
    private final long periodMs;
    private volatile boolean running = true;
    private long anon;
    private long file;
    private long sum;
    private long heap;
    private long stalledNanos;

    private RssSampler(long periodMs) {
        this.periodMs = periodMs;
        sample();
        thread = new Thread(this::loop, "loupe-bench-rss-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    /** Starts sampling every {@code periodMs} milliseconds (and once now). */
    static RssSampler start(long periodMs) {
        return new RssSampler(periodMs);
    }

    private void loop() {
        long last = System.nanoTime();
        while (running) {
            sample();
            try {
                Thread.sleep(periodMs);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            long late = now - last - periodMs * 1_000_000;
            if (late > STALL_NANOS) {
                stalled(late);
            }
            last = now;
        }
    }

    private synchronized void stalled(long nanos) {
        stalledNanos += nanos;
    }

    private synchronized void sample() {
        List<String> lines = statusLines();
        long a = kilobytes(lines, "RssAnon:") * 1024;
        long f = kilobytes(lines, "RssFile:") * 1024;
        anon = Math.max(anon, a);
        file = Math.max(file, f);
        sum = Math.max(sum, a + f);
        heap = Math.max(heap, Runtime.getRuntime().totalMemory());
    }

    /** The peaks so far, after one more sample. */
    synchronized Peak peak() {
        sample();
        return new Peak(anon, file, sum, kilobytes(statusLines(), "VmHWM:") * 1024, heap, stalledNanos / 1_000_000);
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }

    private static List<String> statusLines() {
        try {
            return Files.readAllLines(STATUS);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + STATUS + " (the big benchmarks need Linux)", e);
        }
    }

    /** The value of the {@code key} line ({@code RssAnon:   123456 kB}) in kB. */
    static long kilobytes(List<String> lines, String key) {
        for (String line : lines) {
            if (line.startsWith(key)) {
                String[] parts = line.substring(key.length()).trim().split("\\s+");
                return Long.parseLong(parts[0]);
            }
        }
        throw new IllegalStateException("No " + key + " line in " + STATUS);
    }

    /** {@code MemAvailable} of {@code /proc/meminfo}, in bytes. */
    static long memAvailable() {
        try {
            return kilobytes(Files.readAllLines(Path.of("/proc/meminfo")), "MemAvailable:") * 1024;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read /proc/meminfo", e);
        }
    }
}
