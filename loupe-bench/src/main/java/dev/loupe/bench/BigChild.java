package dev.loupe.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.config.WeightDtype;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * One measurement of {@link BigBench}, run in a JVM of its own so that its resident memory is the
 * model's alone: load a folder, then (if asked) time forward passes of 1×128 tokens, a greedy
 * generation with the key/value cache and the 4096³ matMul ceiling, sampling RssAnon and RssFile
 * throughout. The parent reads the one {@link #RESULT_PREFIX} line this prints, or the
 * {@link #FAILURE_PREFIX} line naming what went wrong.
 *
 * <p>Usage: {@code BigChild DIR MODEL float32|float16 CACHE WARMUP RUNS MATMUL_N GENERATE}; RUNS 0
 * measures the load only.
 */
public final class BigChild {
    static final String RESULT_PREFIX = "LOUPE-BIG-RESULT ";
    static final String FAILURE_PREFIX = "LOUPE-BIG-FAILURE ";
    static final int POSITIONS = 128;
    static final int PROMPT = 16;
    private static final long SAMPLE_MS = 50;

    private BigChild() {}

    /** What to measure after the load. */
    record Plan(int warmup, int runs, int matMulN, int generate) {
        static Plan loadOnly() {
            return new Plan(0, 0, 0, 0);
        }
    }

    /**
     * One child's figures. Times in ms, memory in bytes; {@code null} where not measured.
     *
     * @param loadPeakAnon the RssAnon peak up to the end of the load; {@code peakAnon} that of the whole run
     * @param peakHeap the Java heap's largest committed size
     * @param stalledMs how long the JVM stood still (stopped or starved from outside): its timings are spoilt
     */
    record Measurement(String model, String dtype, String cache, double loadMs, long loadPeakAnon, long loadPeakFile,
            long peakAnon, long peakFile, long hwm, long peakHeap, Double forwardMs, int forwardRuns, Boolean finite,
            Double matMulMs, int matMulN, Double generateMs, int generated, long stalledMs) {}

    public static void main(String[] args) throws IOException {
        if (args.length != 8) {
            System.err.println("Usage: BigChild DIR MODEL float32|float16 CACHE WARMUP RUNS MATMUL_N GENERATE");
            System.exit(2);
        }
        Plan plan = new Plan(Integer.parseInt(args[4]), Integer.parseInt(args[5]), Integer.parseInt(args[6]),
                Integer.parseInt(args[7]));
        Measurement m;
        try {
            m = measure(Path.of(args[0]), args[1], WeightDtype.valueOf(args[2].toUpperCase(Locale.ROOT)), args[3], plan);
        } catch (RuntimeException | OutOfMemoryError e) {
            // The parent puts the cause under the table; the stack trace goes to stderr as usual.
            System.out.println(FAILURE_PREFIX + e.getClass().getSimpleName() + ": " + e.getMessage());
            throw e;
        }
        System.out.println(RESULT_PREFIX + new ObjectMapper().writeValueAsString(m));
    }

    /** Loads {@code dir} as {@code dtype} and measures what {@code plan} asks for. */
    static Measurement measure(Path dir, String model, WeightDtype dtype, String cache, Plan plan) {
        try (RssSampler rss = RssSampler.start(SAMPLE_MS)) {
            long start = System.nanoTime();
            HookedTransformer transformer = HookedTransformer.fromPretrainedNoProcessing(dir, dtype);
            double loadMs = (System.nanoTime() - start) / 1e6;
            RssSampler.Peak afterLoad = rss.peak();
            log(model, dtype, String.format(Locale.ROOT, "%s load %.1f s, RssAnon %.2f GB", cache, loadMs / 1e3,
                    afterLoad.anon() / 1e9));
            Double forwardMs = null;
            Boolean finite = null;
            Double generateMs = null;
            try (transformer; NDManager manager = NDManager.newBaseManager()) {
                if (plan.runs() > 0) {
                    int vocab = transformer.config().dVocab();
                    NDArray tokens = Gpt2SmallFixture.tokens(manager, 1, POSITIONS, vocab);
                    for (int i = 0; i < plan.warmup(); i++) {
                        try (NDArray logits = transformer.forward(tokens)) {
                            if (i == 0) {
                                finite = finite(logits);
                            }
                        }
                    }
                    long total = 0;
                    for (int i = 0; i < plan.runs(); i++) {
                        long t = System.nanoTime();
                        try (NDArray logits = transformer.forward(tokens)) {
                            total += System.nanoTime() - t;
                            if (finite == null) {
                                finite = finite(logits);
                            }
                        }
                    }
                    forwardMs = total / 1e6 / plan.runs();
                    log(model, dtype, String.format(Locale.ROOT, "forward 1x%d: %.0f ms", POSITIONS, forwardMs));
                }
                if (plan.generate() > 0) {
                    NDArray prompt = Gpt2SmallFixture.tokens(manager, 1, PROMPT, transformer.config().dVocab());
                    GenerateOptions greedy = GenerateOptions.greedy(plan.generate()).withStopAtEos(false);
                    long t = System.nanoTime();
                    Generator.generate(transformer, prompt, null, greedy, null).toLongArray();
                    generateMs = (System.nanoTime() - t) / 1e6;
                }
            }
            // The ceiling runs with the model freed, in the same JVM and engine settings as its forward.
            Double matMulMs = plan.matMulN() > 0 ? matMulMs(plan.matMulN()) : null;
            RssSampler.Peak whole = rss.peak();
            return new Measurement(model, dtype.name().toLowerCase(Locale.ROOT), cache, loadMs, afterLoad.anon(),
                    afterLoad.file(), whole.anon(), whole.file(), whole.hwm(), whole.heap(), forwardMs, plan.runs(), finite,
                    matMulMs, plan.matMulN(), generateMs, plan.generate(), whole.stalledMs());
        }
    }

    private static boolean finite(NDArray logits) {
        try (NDArray nanMask = logits.isNaN(); NDArray nan = nanMask.any(); NDArray infMask = logits.isInfinite();
                NDArray inf = infMask.any()) {
            return !nan.getBoolean() && !inf.getBoolean();
        }
    }

    /** The mean time of one fp32 {@code n}×{@code n} @ {@code n}×{@code n} product, after two warm-ups. */
    static double matMulMs(int n) {
        Engine.getInstance().setRandomSeed(42);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomNormal(0f, 1f, new Shape(n, n), DataType.FLOAT32);
            NDArray b = m.randomNormal(0f, 1f, new Shape(n, n), DataType.FLOAT32);
            int warmup = 2;
            int runs = 5;
            long total = 0;
            for (int i = 0; i < warmup + runs; i++) {
                long t = System.nanoTime();
                try (NDArray c = a.matMul(b)) {
                    c.getFloat(0, 0);
                }
                if (i >= warmup) {
                    total += System.nanoTime() - t;
                }
            }
            return total / 1e6 / runs;
        }
    }

    private static void log(String model, WeightDtype dtype, String what) {
        System.err.printf("[loupe-bench] %s %s: %s%n", model, dtype.name().toLowerCase(Locale.ROOT), what);
    }
}
