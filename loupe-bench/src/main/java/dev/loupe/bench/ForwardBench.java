package dev.loupe.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
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
 * Forward passes of a GPT-2-small-shaped model: plain, caching every activation, and with one
 * zero-ablation hook. {@link Report} compares them with each other and with {@link MatMulBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 2, time = 5, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 5, timeUnit = TimeUnit.SECONDS)
public class ForwardBench {
    /** The hook point the ablation benchmark zeroes head 0 of. */
    static final String ABLATED_HOOK = "blocks.6.attn.hook_z";

    /** batch × pos of the input tokens. */
    @Param({"1x128", "8x128"})
    public String shape;

    /** A Hugging Face model folder; empty = the generated random GPT-2-small. */
    @Param({""})
    public String modelDir;

    private HookedTransformer model;
    private NDManager manager;
    private NDArray tokens;
    private HookSpec ablation;

    @Setup(Level.Trial)
    public void setUp() {
        model = HookedTransformer.fromPretrainedNoProcessing(Gpt2SmallFixture.modelDir(modelDir));
        int[] bt = Gpt2SmallFixture.parseShape(shape);
        manager = NDManager.newBaseManager();
        tokens = Gpt2SmallFixture.tokens(manager, bt[0], bt[1], model.config().dVocab());
        NDIndex head0 = new NDIndex(":, :, 0, :");
        ablation = HookSpec.forward(ABLATED_HOOK, (z, point) -> {
            z.set(head0, 0f); // in place: [batch, pos, head_index, d_head]
            return z;
        });
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (manager != null) {
            manager.close();
        }
        if (model != null) {
            model.close();
        }
    }

    @Benchmark
    public void forward(Blackhole blackhole) {
        try (NDArray logits = model.forward(tokens)) {
            blackhole.consume(logits);
        }
    }

    @Benchmark
    public void runWithCacheAllHooks(Blackhole blackhole) {
        try (ActivationCache cache = model.runWithCache(tokens)) {
            blackhole.consume(cache.logits());
        }
    }

    @Benchmark
    public void runWithHooksZeroAblation(Blackhole blackhole) {
        try (NDArray logits = model.runWithHooks(tokens, ablation)) {
            blackhole.consume(logits);
        }
    }
}
