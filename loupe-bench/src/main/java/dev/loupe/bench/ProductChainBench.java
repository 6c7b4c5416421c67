package dev.loupe.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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
 * The matrix products of a GPT-2-small-shaped forward and nothing else: per layer x·W_QKV [768, 2304],
 * x·W_O [768, 768], x·W_in [768, 3072], then W_out [3072, 768], and the unembedding [768, 50257], on 1 and on 32
 * rows, each weight a distinct random float32 matrix (every product streams its weights from memory, as the
 * model's do). Set beside {@code GenerateBench.forwardOneTokenKvCached} and {@code forward1x32}, the difference is
 * what a forward spends besides its products (JNI crossings, element-wise ops, attention, allocation); the
 * chain's own time above the ceiling's rate is the products' small-input inefficiency (weight streaming).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 2, time = 3, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 3, timeUnit = TimeUnit.SECONDS)
public class ProductChainBench {
    private static final int D = Gpt2SmallFixture.D_MODEL;

    private NDManager manager;
    private NDArray[][] layers; // [layer] → W_QKV, W_O, W_in, W_out
    private NDArray unembed;
    private NDArray oneRow;
    private NDArray rows32;

    @Setup(Level.Trial)
    public void setUp() {
        manager = NDManager.newBaseManager();
        manager.getEngine().setRandomSeed(Gpt2SmallFixture.WEIGHT_SEED);
        layers = new NDArray[Gpt2SmallFixture.N_LAYERS][];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new NDArray[] {weight(D, 3 * D), weight(D, D), weight(D, Gpt2SmallFixture.D_MLP),
                weight(Gpt2SmallFixture.D_MLP, D)};
        }
        unembed = weight(D, Gpt2SmallFixture.D_VOCAB);
        oneRow = manager.randomNormal(new Shape(1, D));
        rows32 = manager.randomNormal(new Shape(32, D));
    }

    private NDArray weight(int in, int out) {
        return manager.randomNormal(0, Gpt2SmallFixture.INIT_STD, new Shape(in, out), DataType.FLOAT32);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    /** The products of a 1-token forward (the attention over cached keys left out: 17 keys, negligible). */
    @Benchmark
    public void productsOneToken(Blackhole blackhole) {
        blackhole.consume(chain(oneRow));
    }

    /** The products of a 32-token forward, less the attention's own (q·k and pattern·v, 4·32·d FLOP a token). */
    @Benchmark
    public void products1x32(Blackhole blackhole) {
        blackhole.consume(chain(rows32));
    }

    private float chain(NDArray x) {
        try (NDManager pass = manager.newSubManager()) {
            NDArray h = x;
            for (NDArray[] w : layers) {
                h.matMul(w[0]).attach(pass);
                h.matMul(w[1]).attach(pass);
                NDArray hidden = h.matMul(w[2]);
                hidden.attach(pass);
                h = hidden.matMul(w[3]);
                h.attach(pass);
            }
            NDArray logits = h.matMul(unembed);
            logits.attach(pass);
            return logits.getFloat(0, 0);
        }
    }
}
