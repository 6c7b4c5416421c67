package dev.loupe.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.config.WeightDtype;
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
 * The cost of keeping weights in float16: a forward pass of the GPT-2-small-shaped model with
 * {@link WeightDtype#FLOAT16} weights (widened to float32 layer by layer), to compare with
 * {@link ForwardBench#forward} at the same shape.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 2, time = 5, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 5, timeUnit = TimeUnit.SECONDS)
public class HalfWeightsBench {
    /** batch × pos of the input tokens. */
    @Param({"1x128"})
    public String shape;

    private HookedTransformer model;
    private NDManager manager;
    private NDArray tokens;

    @Setup(Level.Trial)
    public void setUp() {
        model = HookedTransformer.fromPretrainedNoProcessing(Gpt2SmallFixture.modelDir(""), WeightDtype.FLOAT16);
        int[] bt = Gpt2SmallFixture.parseShape(shape);
        manager = NDManager.newBaseManager();
        tokens = Gpt2SmallFixture.tokens(manager, bt[0], bt[1], model.config().dVocab());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
        model.close();
    }

    @Benchmark
    public void forwardHalfWeights(Blackhole blackhole) {
        try (NDArray logits = model.forward(tokens)) {
            blackhole.consume(logits);
        }
    }
}
