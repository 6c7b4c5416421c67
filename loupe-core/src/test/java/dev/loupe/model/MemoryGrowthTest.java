package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The process's memory stays flat over 1,000 passes (issue 19, item 9): a JVM of its own runs 1,000
 * {@code forward}s and then 1,000 {@code runWithCache}s of [4, 128] tokens on the tiny GPT-2, and its
 * resident set may grow by at most 32 MB between pass 100 and pass 1,000 of each.
 *
 * <p>The child's Java heap is fixed and resident from the start ({@code -Xms256m -Xmx256m
 * -XX:+AlwaysPreTouch}): the heap is bounded by those flags whatever the passes do, so any growth left
 * is native memory, which is what used to grow (the tensors of masks and positions kept Java direct
 * buffers that only a garbage collection freed). The child also reports the heap in use after a full
 * collection, which must not grow either (nothing a pass makes is kept). It runs with glibc's
 * allocator settings of {@code ./loupe} ({@code scripts/jvm-env.sh}) and one libtorch thread.
 */
@Isolated("measures a child JVM's memory; wants the CPU to itself")
class MemoryGrowthTest {
    private static final int PASSES = 1000;
    private static final int FIRST_SAMPLE = 100;
    private static final long MAX_RSS_GROWTH_KB = 32 * 1024;
    private static final long MAX_HEAP_GROWTH_KB = 8 * 1024;

    @Test
    void residentMemoryStaysFlatOverAThousandForwardAndCachingPasses() throws Exception {
        Map<String, long[]> samples = runChild();
        assertThat(samples).containsOnlyKeys("forward", "runWithCache");
        for (Map.Entry<String, long[]> phase : samples.entrySet()) {
            long[] s = phase.getValue(); // rss at pass 100, rss at pass 1000, heap at 100, heap at 1000 (kB)
            System.out.printf(Locale.ROOT, "MemoryGrowthTest %s: RSS %d -> %d MB (%+.1f MB), heap after GC %d -> %d MB%n",
                    phase.getKey(), s[0] >> 10, s[1] >> 10, (s[1] - s[0]) / 1024.0, s[2] >> 10, s[3] >> 10);
            assertThat(s[1] - s[0]).as(phase.getKey() + ": RSS growth (kB) from pass 100 to pass 1000")
                    .isLessThanOrEqualTo(MAX_RSS_GROWTH_KB);
            assertThat(s[3] - s[2]).as(phase.getKey() + ": growth of the heap in use after GC (kB)")
                    .isLessThanOrEqualTo(MAX_HEAP_GROWTH_KB);
        }
    }

    /** Starts {@link Passes} in a JVM of its own and reads its samples. */
    private static Map<String, long[]> runChild() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(),
                "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-Xss4m",
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.graph_optimizer=false",
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=off",
                "-Dorg.slf4j.simpleLogger.log.ai.djl.pytorch.jni.LibUtils=off"));
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Passes.class.getName(),
                Fixtures.model("gpt2").toString()));
        Path output = Files.createTempFile("loupe-memory", ".txt");
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
            builder.environment().put("MALLOC_MMAP_THRESHOLD_", "33554432");
            builder.environment().put("MALLOC_TRIM_THRESHOLD_", "1073741824");
            Process child = builder.start();
            if (!child.waitFor(150, TimeUnit.SECONDS)) {
                child.destroyForcibly();
                throw new AssertionError("The child JVM took over 150 s:\n" + Files.readString(output));
            }
            String text = Files.readString(output, StandardCharsets.UTF_8);
            assertThat(child.exitValue()).as(text).isZero();
            Map<String, long[]> samples = new LinkedHashMap<>();
            for (String line : text.split("\n")) {
                if (line.startsWith("SAMPLE ")) {
                    String[] f = line.trim().split(" ");
                    samples.put(f[1], new long[] {Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                            Long.parseLong(f[5])});
                }
            }
            return samples;
        } finally {
            Files.deleteIfExists(output);
        }
    }

    /** The child: the passes, with RSS and the heap in use after a full GC at pass 100 and pass 1,000. */
    public static final class Passes {
        private Passes() {}

        public static void main(String[] args) {
            try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Path.of(args[0]));
                 NDManager manager = NDManager.newBaseManager()) {
                Random random = new Random(19);
                long[] ids = new long[4 * 128];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = random.nextInt(model.config().dVocab());
                }
                NDArray tokens = manager.create(ids, new Shape(4, 128)).toType(DataType.INT64, false);
                phase("forward", () -> model.forward(tokens).close());
                phase("runWithCache", () -> model.runWithCache(tokens).close());
            }
        }

        private static void phase(String name, Runnable pass) {
            long[] sample = new long[4];
            for (int i = 1; i <= PASSES; i++) {
                pass.run();
                if (i == FIRST_SAMPLE || i == PASSES) {
                    int at = i == PASSES ? 1 : 0;
                    System.gc();
                    sample[2 + at] = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 10;
                    sample[at] = residentKb();
                }
            }
            System.out.println("SAMPLE " + name + " " + sample[0] + " " + sample[1] + " " + sample[2] + " " + sample[3]);
        }

        /** VmRSS of /proc/self/status, in kB. */
        private static long residentKb() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            throw new IllegalStateException("No VmRSS in /proc/self/status");
        }
    }
}
