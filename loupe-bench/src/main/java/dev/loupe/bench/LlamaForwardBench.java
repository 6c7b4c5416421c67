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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A plain forward pass of a Llama-shaped model (0.85 B parameters, grouped-query attention, RoPE,
 * RMSNorm, SwiGLU; see {@link LlamaShapedFixture}) with random weights. {@link Report} gives its
 * tokens/s and its share of the {@link MatMulBench} ceiling measured in the same run (target ≥ 65 %).
 *
 * <p>The weights take 3.4 GB of native memory as float32 (outside the Java heap). One forward of
 * 1×128 tokens is ~200 GFLOP, seconds on 2 cores, hence the longer iterations.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 2, time = 10, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 10, timeUnit = TimeUnit.SECONDS)
public class LlamaForwardBench {
    /** batch × pos of the input tokens. */
    @Param({"1x128"})
    public String shape;

    /** A Hugging Face Llama folder; empty = the generated random Llama-shaped model. */
    @Param({""})
    public String modelDir;

    private HookedTransformer model;
    private NDManager manager;
    private NDArray tokens;

    @Setup(Level.Trial)
    public void setUp() {
        model = HookedTransformer.fromPretrainedNoProcessing(LlamaShapedFixture.modelDir(modelDir));
        int[] bt = Gpt2SmallFixture.parseShape(shape);
        manager = NDManager.newBaseManager();
        tokens = Gpt2SmallFixture.tokens(manager, bt[0], bt[1], model.config().dVocab());
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
    public void llamaForward(Blackhole blackhole) {
        try (NDArray logits = model.forward(tokens)) {
            blackhole.consume(logits);
        }
    }
}
