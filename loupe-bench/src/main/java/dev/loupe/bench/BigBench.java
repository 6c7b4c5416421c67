package dev.loupe.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.bench.BigChild.Measurement;
import dev.loupe.bench.BigChild.Plan;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The real-size benchmarks ({@code ./bench --big NAME}): loading, memory and forward speed of
 * Gemma-2-2B-, Gemma-2-9B- and Mixtral-shaped models with random bfloat16 weights, each measurement
 * in a fresh child JVM ({@link BigChild}) started with this JVM's flags, so that its resident memory
 * is the model's alone. Prints a Markdown table ({@link BigReport}) with the targets.
 *
 * <p>Usage: {@code BigBench gemma2-2b|gemma2-9b|mixtral [--cold] [--dtype float32|float16|both]
 * [--warmup N] [--runs N] [--out FILE] [--base DIR] [--write-only]}. The folders are written once
 * into {@code ${TMPDIR:-/tmp}/loupe-bench-NAME} (or {@code --base}) and reused. {@code --cold} also
 * measures loads after dropping the page cache ({@code sync; echo 3 > /proc/sys/vm/drop_caches}, which
 * needs root); without it nothing is dropped. A run starts only when {@code MemAvailable} covers the
 * weights plus {@link #MARGIN_BYTES}; a skipped run is named under the table.
 */
public final class BigBench {
    /** Room beyond the weights for the JVM, libtorch, activations and one tensor's conversion. */
    static final long MARGIN_BYTES = 2_500_000_000L;
    static final int MATMUL_N = MatMulBench.N;

    private final boolean cold;
    private final String dtypes;
    private final int warmup;
    private final int runs;
    private final List<Measurement> results = new ArrayList<>();
    private final List<PairedForwards.Pair> pairs = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    private BigBench(boolean cold, String dtypes, int warmup, int runs) {
        this.cold = cold;
        this.dtypes = dtypes;
        this.warmup = warmup;
        this.runs = runs;
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        String name = null;
        boolean cold = false;
        boolean writeOnly = false;
        String dtypes = null;
        int warmup = 2;
        int runs = 3;
        Path out = null;
        String tmp = System.getenv("TMPDIR");
        Path base = Path.of(tmp != null && !tmp.isBlank() ? tmp : System.getProperty("java.io.tmpdir"));
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cold" -> cold = true;
                case "--write-only" -> writeOnly = true;
                case "--dtype" -> dtypes = args[++i];
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--base" -> base = Path.of(args[++i]);
                default -> name = args[i];
            }
        }
        if (dtypes != null && !List.of("float32", "float16", "both").contains(dtypes)) {
            System.err.println("--dtype takes float32, float16 or both, not " + dtypes);
            System.exit(2);
        }
        List<BigShape> shapes = switch (name == null ? "" : name) {
            case "gemma2-2b" -> List.of(BigShape.GEMMA2_2B);
            case "gemma2-9b" -> List.of(BigShape.GEMMA2_9B);
            case "mixtral" -> List.of(BigShape.MIXTRAL, BigShape.MIXTRAL_DENSE);
            default -> {
                System.err.println("Usage: ./bench --big gemma2-2b|gemma2-9b|mixtral [--cold] [--dtype float32|float16|both]"
                        + " [--warmup N] [--runs N] [--out FILE] [--base DIR] [--write-only]");
                System.exit(2);
                yield List.of();
            }
        };
        Map<String, Path> dirs = new LinkedHashMap<>();
        Map<String, BigShape> byName = new LinkedHashMap<>();
        for (BigShape shape : shapes) {
            dirs.put(shape.name(), ShardedFixture.cachedOrGenerated(base, shape, ShardedFixture.SHARD_BYTES));
            byName.put(shape.name(), shape);
        }
        if (writeOnly) {
            return;
        }
        // 9B in float32 is 37 GB of weights: only its 16-bit mode is run unless asked for.
        String defaultDtypes = name.equals("gemma2-9b") ? "float16" : "both";
        BigBench bench = new BigBench(cold, dtypes == null ? defaultDtypes : dtypes, warmup, runs);
        bench.run(shapes, dirs);
        String report = bench.report(byName);
        System.out.print(report);
        if (out != null) {
            Files.writeString(out, report, StandardCharsets.UTF_8);
            System.err.println("[loupe-bench] wrote " + out.toAbsolutePath());
        }
    }

    private void run(List<BigShape> shapes, Map<String, Path> dirs) throws IOException, InterruptedException {
        BigShape first = shapes.get(0);
        boolean nineB = first.name().equals(BigShape.GEMMA2_9B.name());
        Plan full = new Plan(nineB ? Math.min(warmup, 1) : warmup, nineB ? Math.min(runs, 2) : runs, MATMUL_N,
                nineB ? 16 : 0);
        List<String> modes = dtypes.equals("both") ? List.of("float32", "float16") : List.of(dtypes);
        if (nineB && !modes.contains("float32")) {
            notes.add("gemma2-9b float32 not run: its weights take 37 GB as float32 (pass --dtype float32 to try)");
        }
        for (String dtype : modes) {
            child(first, dirs.get(first.name()), dtype, "warm", full);
        }
        for (BigShape other : shapes.subList(1, shapes.size())) {
            child(other, dirs.get(other.name()), "float32", "warm", full);
            pair(first, dirs.get(first.name()), other, dirs.get(other.name()));
        }
        if (cold) {
            for (String dtype : modes) {
                child(first, dirs.get(first.name()), dtype, "cold", Plan.loadOnly());
            }
        }
    }

    /**
     * Runs one measurement in a child JVM, if memory allows: cold after dropping the page cache, warm
     * after reading the files through it.
     */
    private void child(BigShape shape, Path dir, String dtype, String cache, Plan plan)
            throws IOException, InterruptedException {
        long needed = BigReport.weightBytes(shape, dtype) + MARGIN_BYTES;
        String what = shape.name() + " " + dtype + " " + cache;
        if (cache.equals("cold")) {
            String failure = dropCaches();
            if (failure != null) {
                notes.add(what + " not run: could not drop the page cache (" + failure + ")");
                return;
            }
        } else {
            readThrough(dir);
        }
        long available = RssSampler.memAvailable();
        if (available < needed) {
            notes.add(String.format(Locale.ROOT, "%s not run: MemAvailable %.1f GB < %.1f GB needed (weights + %.1f GB)",
                    what, available / 1e9, needed / 1e9, MARGIN_BYTES / 1e9));
            return;
        }
        System.err.printf(Locale.ROOT, "[loupe-bench] %s (MemAvailable %.1f GB)%n", what, available / 1e9);
        String json = launch(BigChild.class, what, dir.toString(), shape.name(), dtype, cache,
                Integer.toString(plan.warmup()), Integer.toString(plan.runs()), Integer.toString(plan.matMulN()),
                Integer.toString(plan.generate()));
        if (json != null) {
            results.add(new ObjectMapper().readValue(json, Measurement.class));
        }
    }

    /** Mixtral's and the dense twin's forwards taken in turn by one child JVM, if memory allows both. */
    private void pair(BigShape moe, Path moeDir, BigShape dense, Path denseDir) throws IOException, InterruptedException {
        String what = moe.name() + " and " + dense.name() + " float32, alternating";
        long needed = BigReport.weightBytes(moe, "float32") + BigReport.weightBytes(dense, "float32") + MARGIN_BYTES;
        long available = RssSampler.memAvailable();
        if (available < needed) {
            notes.add(String.format(Locale.ROOT, "%s not run: MemAvailable %.1f GB < %.1f GB needed", what,
                    available / 1e9, needed / 1e9));
            return;
        }
        System.err.printf(Locale.ROOT, "[loupe-bench] %s (MemAvailable %.1f GB)%n", what, available / 1e9);
        String json = launch(PairedForwards.class, what, moeDir.toString(), denseDir.toString(), Integer.toString(warmup),
                Integer.toString(runs));
        if (json != null) {
            pairs.add(new ObjectMapper().readValue(json, PairedForwards.Pair.class));
        }
    }

    /**
     * Runs {@code main} in a child JVM with this JVM's flags; its {@link BigChild#RESULT_PREFIX} line's
     * JSON, or null after noting why there is none.
     */
    private String launch(Class<?> main, String what, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        // No -Xmx: the heap sizes itself as under ./loupe. The thread counts are every benchmark's.
        command.addAll(List.of(BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String result = null;
        String failure = null;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith(BigChild.RESULT_PREFIX)) {
                    result = line.substring(BigChild.RESULT_PREFIX.length());
                } else if (line.startsWith(BigChild.FAILURE_PREFIX)) {
                    failure = line.substring(BigChild.FAILURE_PREFIX.length());
                } else {
                    System.err.println(line);
                }
            }
        }
        int exit = process.waitFor();
        if (exit != 0 || result == null) {
            notes.add(what + " failed: the child JVM exited with " + exit
                    + (failure != null ? ": " + failure : " (its output is above)"));
            return null;
        }
        return result;
    }

    /** {@code sync; echo 3 > /proc/sys/vm/drop_caches}; the failure, or null. */
    static String dropCaches() {
        try {
            int sync = new ProcessBuilder("sync").inheritIO().start().waitFor();
            if (sync != 0) {
                return "sync exited with " + sync;
            }
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3\n");
            return null;
        } catch (IOException e) {
            return e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e.toString();
        }
    }

    /** Reads every file of {@code dir} once, so that a warm load finds them in the page cache. */
    static void readThrough(Path dir) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(8 << 20);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                try (FileChannel channel = FileChannel.open(file)) {
                    while (channel.read(buffer.clear()) > 0) {
                        // Only the page cache matters.
                    }
                }
            }
        }
    }

    private String report(Map<String, BigShape> shapes) {
        StringBuilder out = new StringBuilder();
        out.append("## Loupe real-size benchmarks, ").append(Instant.now()).append("\n\n");
        out.append(String.format(Locale.ROOT, "%d CPUs, MemTotal %.1f GB, Java %s, PyTorch on 2 intra-op threads;"
                + " random bfloat16 weights (seed %d); forwards of 1×%d tokens timed after %d warm-up runs (9B: at most 1)."
                + " A shared machine: figures are noisy.%n%n", Runtime.getRuntime().availableProcessors(), memTotal() / 1e9,
                System.getProperty("java.version"), BigShape.WEIGHT_SEED, BigChild.POSITIONS, warmup));
        for (BigShape shape : shapes.values()) {
            out.append("- ").append(shape.describe()).append('\n');
        }
        out.append('\n').append(BigReport.render(results, pairs, shapes, notes));
        return out.toString();
    }

    private static long memTotal() {
        try {
            return RssSampler.kilobytes(Files.readAllLines(Path.of("/proc/meminfo")), "MemTotal:") * 1024;
        } catch (IOException e) {
            return 0;
        }
    }
}
