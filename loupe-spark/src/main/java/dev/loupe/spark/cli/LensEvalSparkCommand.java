package dev.loupe.spark.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.LoupeException;
import dev.loupe.lens.LensHook;
import dev.loupe.lens.eval.LensEvalOptions;
import dev.loupe.lens.eval.LensMetrics;
import dev.loupe.spark.ModelSpec;
import dev.loupe.spark.lens.SparkLensEvaluator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe lens eval --spark}: {@code loupe lens eval} with its batches spread over Spark tasks. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"`loupe lens eval` on Apache Spark: the same chunks, batches and OUTPUT/aggregate_metrics.json"
                + " (cross-entropy, entropy and KL per layer, bits per byte); each batch runs on an executor, which loads"
                + " the model and the lens once."})
final class LensEvalSparkCommand implements Callable<Integer> {
    @Mixin
    SparkOptions spark;

    @Mixin
    LensData input;

    @Option(names = {"--lens", "-l"}, paramLabel = "LENS",
            description = "A tuned lens folder every node reads (default: the logit lens only).")
    Path lens;

    @Option(names = {"--output", "-o"}, required = true, paramLabel = "OUTPUT",
            description = "Folder for aggregate_metrics.json.")
    Path output;

    @Option(names = "--tokens", paramLabel = "N", description = "Evaluate at most N tokens (default: all).")
    Long tokens;

    @Option(names = "--max-seq-len", defaultValue = "2048", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int maxSeqLen;

    @Option(names = "--per-gpu-batch-size", defaultValue = "1", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--token-shift", defaultValue = "1", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int tokenShift;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(output.resolve("aggregate_metrics.json"))) {
            throw new LoupeException(output.resolve("aggregate_metrics.json") + " exists; give another --output");
        }
        ModelSpec spec = input.model(lens);
        SparkSession session = spark.session("loupe lens eval --spark");
        var chunks = input.chunks(session, spec, maxSeqLen);
        LensEvalOptions options = new LensEvalOptions(chunks.chunkSize(), batchSize, tokens, tokenShift, seed,
                LensHook.RESID_PRE);
        LensMetrics metrics = SparkLensEvaluator.evaluate(session, spec, lens == null ? null : lens.toString(), chunks,
                options, spark.partitions);
        Files.createDirectories(output);
        AtomicFiles.writeString(output.resolve("aggregate_metrics.json"),
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(metrics.toJson()));
        System.out.println("loupe: wrote " + output.resolve("aggregate_metrics.json"));
        return 0;
    }
}
