package dev.loupe.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.analysis.patching.PatchFamily;
import dev.loupe.analysis.patching.PatchMetric;
import dev.loupe.analysis.patching.PatchOptions;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The resid_pre activation-patching sweep (every layer × position: 12 × 32 = 384 patches) on the
 * GPT-2-small-shaped random model with 1×32 random clean and corrupted tokens: the batched sweep
 * that starts each run at the patched layer ({@code fastResidPreSweep}) against TransformerLens's
 * one-full-forward-per-patch loop ({@code naiveResidPreSweep}). Every token differs, so no patch is
 * skipped as a no-op: the speed-up is batching and layer skipping alone. Target: fast ≥ 3× faster.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 1, time = 10, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 10, timeUnit = TimeUnit.SECONDS)
public class PatchingBench {
    /** Seed of the corrupted tokens (the clean ones use {@link Gpt2SmallFixture#TOKEN_SEED}). */
    static final long CORRUPTED_SEED = 4321L;

    /** batch × pos of the tokens. */
    @Param({"1x32"})
    public String shape;

    /** A Hugging Face model folder; empty = the generated random GPT-2-small. */
    @Param({""})
    public String modelDir;

    private HookedTransformer model;
    private NDManager manager;
    private NDArray corrupted;
    private ActivationCache clean;
    private PatchMetric metric;

    @Setup(Level.Trial)
    public void setUp() {
        model = HookedTransformer.fromPretrainedNoProcessing(Gpt2SmallFixture.modelDir(modelDir));
        int[] bt = Gpt2SmallFixture.parseShape(shape);
        int vocab = model.config().dVocab();
        manager = NDManager.newBaseManager();
        NDArray cleanTokens = Gpt2SmallFixture.tokens(manager, bt[0], bt[1], vocab);
        Random random = new Random(CORRUPTED_SEED);
        long[] ids = new long[bt[0] * bt[1]];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(vocab);
        }
        corrupted = manager.create(ids, new Shape(bt[0], bt[1]));
        // The sweep reads only resid_pre from the clean run.
        clean = model.runWithCache(cleanTokens, CacheOptions.matching("blocks\\.\\d+\\.hook_resid_pre"));
        metric = PatchMetric.logitDiff(ids[ids.length - 1], (ids[ids.length - 1] + 1) % vocab);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (clean != null) {
            clean.close();
        }
        if (manager != null) {
            manager.close();
        }
        if (model != null) {
            model.close();
        }
    }

    @Benchmark
    public void fastResidPreSweep(Blackhole blackhole) {
        try (NDArray result = PatchFamily.RESID_PRE.run(model, corrupted, clean, metric)) {
            blackhole.consume(result);
        }
    }

    @Benchmark
    public void naiveResidPreSweep(Blackhole blackhole) {
        try (NDArray result = PatchFamily.RESID_PRE.run(model, corrupted, clean, metric, PatchOptions.naiveLoop())) {
            blackhole.consume(result);
        }
    }
}
