package dev.loupe.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.numeric.HugePages;
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
 * The practical ceiling: one plain fp32 4096×4096 @ 4096×4096 matMul (2·4096³ FLOP) on the same
 * engine settings, the allocator's huge pages included when {@code -Dloupe.hugePages=true} asks for them
 * ({@link HugePages}). {@link Report} expresses every model benchmark as a percentage of it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 2, time = 5, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 5, timeUnit = TimeUnit.SECONDS)
public class MatMulBench {
    public static final int N = 4096;

    private NDManager manager;
    private NDArray a;
    private NDArray b;

    @Setup(Level.Trial)
    public void setUp() {
        HugePages.request(); // the allocator the model benchmarks get (HookedTransformer requests it too)
        Engine.getInstance().setRandomSeed(42);
        manager = NDManager.newBaseManager();
        a = manager.randomNormal(0f, 1f, new Shape(N, N), DataType.FLOAT32);
        b = manager.randomNormal(0f, 1f, new Shape(N, N), DataType.FLOAT32);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    @Benchmark
    public void matMulCeiling(Blackhole blackhole) {
        try (NDArray c = a.matMul(b)) {
            blackhole.consume(c);
        }
    }
}
