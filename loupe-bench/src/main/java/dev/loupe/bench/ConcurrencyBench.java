package dev.loupe.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One GPT-2-small-shaped model shared by one and by two Java threads, each running {@code forward}
 * on its own [1, 128] tokens: what running a shared model from several threads buys. The score is the
 * time of one pass on one thread (JMH's average time per thread), so the passes per second of the
 * whole process are {@code threads / score}. libtorch runs with {@link BenchFlags}' intra-op threads
 * (2) for each Java thread, so two Java threads ask for four compute threads on a 2-core machine.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 2, time = 5, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 5, timeUnit = TimeUnit.SECONDS)
public class ConcurrencyBench {
    /** batch × pos of each thread's tokens. */
    @Param({"1x128"})
    public String shape;

    /** A Hugging Face model folder; empty = the generated random GPT-2-small. */
    @Param({""})
    public String modelDir;

    private HookedTransformer model;

    @Setup(Level.Trial)
    public void setUp() {
        model = HookedTransformer.fromPretrainedNoProcessing(Gpt2SmallFixture.modelDir(modelDir));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (model != null) {
            model.close();
        }
    }

    /** Each thread's own tokens, in a manager of its own. */
    @State(Scope.Thread)
    public static class Input {
        private NDManager manager;
        private NDArray tokens;

        @Setup(Level.Trial)
        public void setUp(ConcurrencyBench bench) {
            int[] bt = Gpt2SmallFixture.parseShape(bench.shape);
            manager = NDManager.newBaseManager();
            tokens = Gpt2SmallFixture.tokens(manager, bt[0], bt[1], bench.model.config().dVocab());
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (manager != null) {
                manager.close();
            }
        }
    }

    @Benchmark
    @Threads(1)
    public void forwardOneThread(Input input, Blackhole blackhole) {
        forward(input, blackhole);
    }

    @Benchmark
    @Threads(2)
    public void forwardTwoThreads(Input input, Blackhole blackhole) {
        forward(input, blackhole);
    }

    private void forward(Input input, Blackhole blackhole) {
        try (NDArray logits = model.forward(input.tokens)) {
            blackhole.consume(logits);
        }
    }
}
