package dev.loupe.bench;

import dev.loupe.lens.TunedLens;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.LensTrainingResult;
import dev.loupe.lens.train.TunedLensTrainer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenChunks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
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

/**
 * Tuned-lens training on the GPT-2-small-shaped model with its full 50,257-token vocabulary: each
 * operation is {@link #STEPS} optimizer step of {@link #SEQUENCES_PER_STEP} sequences of
 * {@link #SEQUENCE_LENGTH} tokens, one sequence per forward pass (the library's defaults: {@code
 * per_gpu_batch_size} 1 with gradient accumulation, KL, SGD, per-layer backward),
 * so {@link Report} turns ms/op into tokens/s counting the model's forward. When the fork ends it
 * writes its peak resident memory (VmHWM) to {@link #PEAK_RSS_FILE} for the report.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 1)
@Measurement(iterations = 4)
public class LensTrainingBench {
    static final int SEQUENCE_LENGTH = 128;
    static final int SEQUENCES_PER_STEP = 4;
    static final int STEPS = 1;
    /** Tokens each operation trains on. */
    static final int TOKENS_PER_OP = STEPS * SEQUENCES_PER_STEP * SEQUENCE_LENGTH;
    static final Path PEAK_RSS_FILE = Path.of(System.getProperty("java.io.tmpdir"), "loupe-bench-lens-train-rss.txt");

    private HookedTransformer model;
    private TunedLens lens;
    private TokenChunks data;
    private LensTrainingOptions options;

    @Setup(Level.Trial)
    public void setUp() {
        model = HookedTransformer.fromPretrainedNoProcessing(Gpt2SmallFixture.modelDir(""));
        lens = TunedLens.create(model);
        Random random = new Random(Gpt2SmallFixture.TOKEN_SEED);
        List<long[]> chunks = new ArrayList<>();
        for (int c = 0; c < 16; c++) {
            long[] chunk = new long[SEQUENCE_LENGTH];
            for (int i = 0; i < chunk.length; i++) {
                chunk[i] = random.nextInt(model.config().dVocab());
            }
            chunks.add(chunk);
        }
        data = new TokenChunks(chunks, 1.0);
        options = LensTrainingOptions.builder().numSteps(STEPS).tokensPerStep(SEQUENCES_PER_STEP * SEQUENCE_LENGTH)
                .maxSeqLen(SEQUENCE_LENGTH).perGpuBatchSize(1).repeatData(true).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        lens.close();
        model.close();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                Files.writeString(PEAK_RSS_FILE, line.replaceAll("\\D+", "") + "\n"); // kB
            }
        }
    }

    @Benchmark
    public double trainSteps() {
        LensTrainingResult result = TunedLensTrainer.train(model, lens, data, options, null);
        return result.finalLoss();
    }

    /** The peak resident memory the last fork wrote, in MB, or null. */
    static Double peakRssMb() {
        try {
            return Files.isRegularFile(PEAK_RSS_FILE)
                    ? Long.parseLong(Files.readString(PEAK_RSS_FILE).strip()) / 1024.0 : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
