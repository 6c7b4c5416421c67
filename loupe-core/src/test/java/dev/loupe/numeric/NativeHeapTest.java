package dev.loupe.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Freed tensors in the middle of the C heap stay resident until the heap is trimmed. */
class NativeHeapTest {
    private static final int TENSORS = 4000;
    private static final int FLOATS = 16 * 1024; // 64 kB: below glibc's mmap threshold, so from the heap

    @Test
    void trimmingGivesFreedTensorsMemoryBackToTheKernel() throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            List<NDArray> freed = new ArrayList<>();
            for (int i = 0; i < TENSORS; i++) {
                // Kept and freed tensors alternate, so the freed ones are holes glibc cannot trim off the heap's top.
                // libtorch allocates these (an array made from Java memory would be a direct buffer instead).
                manager.ones(new Shape(FLOATS));
                freed.add(manager.ones(new Shape(FLOATS)));
            }
            freed.forEach(NDArray::close);
            long before = rssAnonKb();
            assertThat(NativeHeap.trim()).isTrue();
            long released = before - rssAnonKb();
            long freedKb = (long) TENSORS * FLOATS * Float.BYTES / 1024;
            assertThat(released).as("RssAnon released of %d kB freed", freedKb).isGreaterThan(freedKb / 2);
        }
    }

    private static long rssAnonKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("RssAnon:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no RssAnon in /proc/self/status");
    }
}
