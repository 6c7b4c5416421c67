package dev.loupe.bench;

import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;
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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Loading the GPT-2-small folder ({@code config.json} + 498 MB of fp32 safetensors) into a
 * {@link HookedTransformer}, and freeing it. The warm-up loads bring the file into the page cache,
 * so this measures a warm load, not disk speed.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 2)
@Measurement(iterations = 5)
public class LoadBench {
    /** A Hugging Face model folder; empty = the generated random GPT-2-small. */
    @Param({""})
    public String modelDir;

    private Path dir;

    @Setup(Level.Trial)
    public void setUp() {
        dir = Gpt2SmallFixture.modelDir(modelDir);
    }

    @Benchmark
    public void loadModel(Blackhole blackhole) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir)) {
            blackhole.consume(model.config());
        }
    }
}
