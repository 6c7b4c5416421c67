package dev.loupe.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.management.OperatingSystemMXBean;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.config.WeightDtype;
import dev.loupe.io.WeightSource;
import dev.loupe.load.adapters.Adapters;
import dev.loupe.load.spi.ArchitectureAdapter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The memory a model folder's weights take once loaded, estimated from its config and checkpoint
 * headers before any weight is read, and the check {@link ModelLoader#read} makes with it: a model
 * that will not fit in the memory available is refused with a message that says what it needs in
 * float32 and in 16-bit and how to load it in 16-bit, instead of being killed by the kernel (or
 * swapping for an hour) half-way through a 10-minute load.
 *
 * <p>The estimate is what the loaded, unprocessed model holds: every floating-point number of the
 * checkpoint at 4 bytes (float32) or 2 (float16) and, in float32, the unembedding's copy padded to a
 * multiple of 64 columns. A tied unembedding costs nothing: it is a view of the embedding (Gemma's
 * scaled {@code W_E} too: it is made only when the state dict is read). Not counted: the copies
 * weight processing makes of the matrices it changes, tensors a float16 load keeps in float32
 * because float16 cannot hold them, and zero biases the adapters make.
 *
 * <p>The memory available is Linux's {@code MemAvailable} (what can be allocated without swapping),
 * lowered to the cgroup's remaining allowance where a container sets {@code memory.max}; elsewhere
 * the operating system's free physical memory. Set the system property {@value #OVERRIDE_PROPERTY}
 * or the environment variable {@value #OVERRIDE_ENV} to {@code off} to skip the check, for
 * people who know better (memory that will be freed, swap they accept).
 */
public final class MemoryCheck {
    /** The system property that turns the check off when set to {@code off}. */
    public static final String OVERRIDE_PROPERTY = "loupe.memoryCheck";
    /** The environment variable that turns the check off when set to {@code off} (for the CLI). */
    public static final String OVERRIDE_ENV = "LOUPE_MEMORY_CHECK";

    private static final int ALIGNMENT = 64;
    private static final double GB = 1e9;

    private MemoryCheck() {}

    /**
     * What a model's weights take in memory.
     *
     * @param float32Bytes with every weight in float32
     * @param float16Bytes with the weights in float16 ({@link WeightDtype#FLOAT16})
     */
    public record Estimate(long float32Bytes, long float16Bytes) {
        /** The bytes for weights kept as {@code dtype}. */
        public long bytes(WeightDtype dtype) {
            return dtype == WeightDtype.FLOAT16 ? float16Bytes : float32Bytes;
        }
    }

    /**
     * Estimates what the model folder {@code dir} takes once loaded, reading only its config and the
     * headers of its weight files.
     */
    public static Estimate estimate(Path dir) {
        JsonNode json = ModelLoader.readHfConfig(dir);
        ArchitectureAdapter adapter = Adapters.forConfig(json, dir);
        TransformerConfig cfg = adapter.config(json, ModelLoader.modelName(dir));
        try (WeightSource source = WeightSource.open(dir)) {
            return estimate(source, cfg);
        }
    }

    static Estimate estimate(WeightSource source, TransformerConfig cfg) {
        long elements = source.floatingElements();
        long vocab = cfg.dVocabOut();
        long padded = vocab % ALIGNMENT == 0 ? 0 : cfg.dModel() * ((vocab + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT);
        return new Estimate(4 * (elements + padded), 2 * elements);
    }

    /** Refuses, before any weight is read, a model that will not fit in the memory available now. */
    static void check(Path dir, WeightSource source, TransformerConfig cfg, WeightDtype dtype) {
        if (overridden()) {
            return;
        }
        check(dir, estimate(source, cfg), dtype, availableBytes());
    }

    /**
     * Refuses {@code estimate} kept as {@code dtype} when it is more than {@code available} bytes.
     * Package-private so that a test can state the memory available; the real check passes
     * {@link #availableBytes()}.
     */
    static void check(Path dir, Estimate estimate, WeightDtype dtype, long available) {
        long needed = estimate.bytes(dtype);
        if (needed <= available) {
            return;
        }
        String sizes = String.format(Locale.ROOT, "the model in %s needs ~%.1f GB in float32 / ~%.1f GB in 16-bit;"
                + " %.1f GB available", dir, estimate.float32Bytes() / GB, estimate.float16Bytes() / GB, available / GB);
        String fix = dtype == WeightDtype.FLOAT32 && estimate.float16Bytes() <= available
                ? "; load it in 16-bit: --dtype float16 (WeightDtype.FLOAT16 in the API)"
                : "; even in 16-bit it does not fit: free memory or use a machine with more";
        throw new LoupeException("Not loading: " + sizes + fix + ". To load it anyway, set " + OVERRIDE_ENV
                + "=off (or -D" + OVERRIDE_PROPERTY + "=off).");
    }

    private static boolean overridden() {
        String property = System.getProperty(OVERRIDE_PROPERTY);
        String value = property != null ? property : System.getenv(OVERRIDE_ENV);
        return value != null && value.trim().equalsIgnoreCase("off");
    }

    /**
     * The bytes that can be allocated now without swapping: {@code MemAvailable} of
     * {@code /proc/meminfo} on Linux, lowered to a cgroup's remaining {@code memory.max}; the
     * operating system's free physical memory elsewhere; {@link Long#MAX_VALUE} where neither is known.
     */
    public static long availableBytes() {
        long available = memAvailable();
        if (available < 0) {
            available = freePhysical();
        }
        long cgroup = cgroupRemaining();
        return cgroup >= 0 ? Math.min(available, cgroup) : available;
    }

    private static long memAvailable() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    String[] parts = line.trim().split("\\s+");
                    return Long.parseLong(parts[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or an unreadable /proc: the next source answers.
        }
        return -1;
    }

    private static long freePhysical() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof OperatingSystemMXBean os) {
            return os.getFreeMemorySize();
        }
        return Long.MAX_VALUE;
    }

    /** memory.max − memory.current of this process's cgroup (v2), or -1 without a limit. */
    private static long cgroupRemaining() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/cgroup"));
            for (String line : lines) {
                if (line.startsWith("0::")) {
                    Path group = Path.of("/sys/fs/cgroup" + line.substring(3));
                    String max = Files.readString(group.resolve("memory.max")).trim();
                    if (max.equals("max")) {
                        return -1;
                    }
                    long current = Long.parseLong(Files.readString(group.resolve("memory.current")).trim());
                    return Math.max(0, Long.parseLong(max) - current);
                }
            }
        } catch (IOException | RuntimeException e) {
            // No cgroup v2 file system (or none for this process): no limit to apply.
        }
        return -1;
    }
}
