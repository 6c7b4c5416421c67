package dev.loupe.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TextOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Tokenizing 100 kB of English: Loupe's {@code toTokens} (truncation off) against DJL's
 * {@code HuggingFaceTokenizer.encode} on the same text, in the same run. {@link Report} gives both in
 * tokens/s and their ratio.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.HEAP, BenchFlags.INTRA_OP_THREADS, BenchFlags.INTER_OP_THREADS,
        BenchFlags.OFFLINE, BenchFlags.NO_GRAPH_OPTIMIZER, BenchFlags.LOG_WARN, BenchFlags.QUIET_CUDA,
        BenchFlags.QUIET_LIBUTILS})
@Warmup(iterations = 2, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
public class TokenizerBench {
    /** Size of the text in characters. */
    static final int TEXT_CHARS = 100_000;

    /** A model folder with a tokenizer.json, relative to the repository root where ./bench runs. */
    @Param({"testdata/models/gpt2-tok"})
    public String tokenizerModelDir;

    private String text;
    private HookedTransformer model;
    private HuggingFaceTokenizer djl;
    private TextOptions untruncated;

    @Setup
    public void setUp() throws IOException {
        text = EnglishText.generate(TEXT_CHARS);
        Path dir = Path.of(tokenizerModelDir);
        model = HookedTransformer.fromPretrainedNoProcessing(dir);
        try (InputStream json = Files.newInputStream(dir.resolve("tokenizer.json"))) {
            djl = HuggingFaceTokenizer.newInstance(json, Map.of("truncation", "false", "padding", "false"));
        }
        untruncated = TextOptions.defaults().withTruncate(false);
    }

    @TearDown
    public void tearDown() {
        djl.close();
        model.close();
    }

    @Benchmark
    public long[][] loupeToTokens() {
        return model.toTokens(List.of(text), untruncated).ids();
    }

    @Benchmark
    public long[] djlEncode() {
        return djl.encode(text).getIds();
    }
}
