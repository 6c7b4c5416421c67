package dev.loupe.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.KeyValueCache;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Greedy generation on the GPT-2-small-shaped model, batch 1, a 16-token prompt: 32 new tokens with
 * and without the key/value cache; one plain forward of a single token and one of 32 tokens; one
 * single-token forward over a frozen cache of the prompt; and 32 cached steps (a
 * single-token forward that appends to the cache, then the argmax) taken right after the prompt and
 * after 224 earlier steps, so that {@link Report} can show that a step's cost does not grow with the
 * cache. The cache for the step benchmarks is built, in the same step-by-step way generation builds
 * it, outside the timed part.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
// Single shots settle after a few runs (JIT, libtorch's allocator), so five of them warm up.
@Warmup(iterations = 5)
@Measurement(iterations = 10)
public class GenerateBench {
    static final int PROMPT = 16;
    static final int NEW_TOKENS = 32;
    static final int LONG_RUN = 256;

    private HookedTransformer model;
    private NDManager manager;
    private NDArray prompt;
    private NDArray oneToken;
    private NDArray prompt32;
    private GenerateOptions greedy;

    @Setup(Level.Trial)
    public void setUp() {
        model = HookedTransformer.fromPretrainedNoProcessing(Gpt2SmallFixture.modelDir(""));
        manager = NDManager.newBaseManager();
        prompt = Gpt2SmallFixture.tokens(manager, 1, PROMPT, model.config().dVocab());
        oneToken = prompt.get(":, 0:1");
        prompt32 = Gpt2SmallFixture.tokens(manager, 1, 32, model.config().dVocab());
        greedy = GenerateOptions.greedy(NEW_TOKENS).withStopAtEos(false);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
        model.close();
    }

    @Benchmark
    public void generate32Cached(Blackhole blackhole) {
        try (NDManager scope = manager.newSubManager()) {
            blackhole.consume(Generator.generate(model, prompt.duplicate(), null, greedy, null).toLongArray());
        }
    }

    @Benchmark
    public void generate32Uncached(Blackhole blackhole) {
        try (NDManager scope = manager.newSubManager()) {
            blackhole.consume(Generator.generate(model, prompt.duplicate(), null, greedy.withUsePastKvCache(false),
                    null).toLongArray());
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @Warmup(iterations = 2, time = 3, timeUnit = TimeUnit.SECONDS)
    @Measurement(iterations = 5, time = 3, timeUnit = TimeUnit.SECONDS)
    public void forwardOneToken(Blackhole blackhole) {
        try (NDArray logits = model.forward(oneToken)) {
            blackhole.consume(logits);
        }
    }

    /**
     * A plain forward of 32 tokens: small enough that the cost of a pass besides its matrix products
     * shows (with {@link #forwardOneTokenKvCached}, the fixed overhead per forward).
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @Warmup(iterations = 2, time = 3, timeUnit = TimeUnit.SECONDS)
    @Measurement(iterations = 5, time = 3, timeUnit = TimeUnit.SECONDS)
    public void forward1x32(Blackhole blackhole) {
        try (NDArray logits = model.forward(prompt32)) {
            blackhole.consume(logits);
        }
    }

    /**
     * A single-token forward that attends to the prompt's 16 cached positions: a generation step without
     * the argmax. The cache is frozen, so that every call does the same work and the cache never fills up.
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @Warmup(iterations = 2, time = 3, timeUnit = TimeUnit.SECONDS)
    @Measurement(iterations = 5, time = 3, timeUnit = TimeUnit.SECONDS)
    public void forwardOneTokenKvCached(FrozenPromptCache filled, Blackhole blackhole) {
        try (NDArray logits = model.forward(oneToken, filled.options).logits()) {
            blackhole.consume(logits);
        }
    }

    /** A cache holding the prompt, frozen, and the options that pass it. */
    @State(Scope.Thread)
    public static class FrozenPromptCache {
        KeyValueCache cache;
        ForwardOptions options;

        @Setup(Level.Trial)
        public void fill(GenerateBench bench) {
            cache = new KeyValueCache(bench.model.config(), 1);
            options = ForwardOptions.builder().pastKvCache(cache).build();
            try (NDManager scope = bench.manager.newSubManager()) {
                NDArray input = bench.prompt.duplicate();
                input.attach(scope);
                bench.model.forward(input, options).logits().attach(scope);
            }
            cache.freeze();
        }

        @TearDown(Level.Trial)
        public void free() {
            cache.close();
        }
    }

    /** A cache filled with the prompt and {@code steps} greedy steps, then the next token to feed. */
    @State(Scope.Thread)
    public abstract static class FilledCache {
        KeyValueCache cache;
        long next;
        NDManager work;

        abstract int steps();

        @Setup(Level.Invocation)
        public void fill(GenerateBench bench) {
            work = bench.manager.newSubManager();
            cache = new KeyValueCache(bench.model.config(), 1);
            next = step(bench.model, work, bench.prompt.toLongArray(), cache);
            for (int i = 0; i < steps(); i++) {
                next = step(bench.model, work, new long[] {next}, cache);
            }
        }

        @TearDown(Level.Invocation)
        public void free() {
            cache.close();
            work.close();
        }
    }

    /** The cache right after the prompt. */
    public static class AfterPrompt extends FilledCache {
        @Override
        int steps() {
            return 0;
        }
    }

    /** The cache after the prompt and 224 steps: the next 32 steps are the last 32 of a 256-token run. */
    public static class After224Steps extends FilledCache {
        @Override
        int steps() {
            return LONG_RUN - NEW_TOKENS;
        }
    }

    @Benchmark
    public long cachedStepsFirst32(AfterPrompt filled) {
        return steps(filled);
    }

    @Benchmark
    public long cachedStepsLast32Of256(After224Steps filled) {
        return steps(filled);
    }

    private long steps(FilledCache filled) {
        long next = filled.next;
        for (int i = 0; i < NEW_TOKENS; i++) {
            next = step(model, filled.work, new long[] {next}, filled.cache);
        }
        return next;
    }

    /** One cached forward of the token ids {@code ids} [1, n] and the most likely next token. */
    private static long step(HookedTransformer model, NDManager parent, long[] ids, KeyValueCache cache) {
        try (NDManager scope = parent.newSubManager()) {
            NDArray input = scope.create(ids, new Shape(1, ids.length));
            ForwardOptions options = ForwardOptions.builder().pastKvCache(cache).build();
            return model.forward(input, options).logits().get(":, -1, :").argMax(-1).getLong(0);
        }
    }
}
