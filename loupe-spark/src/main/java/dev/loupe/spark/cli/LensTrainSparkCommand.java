package dev.loupe.spark.cli;

import dev.loupe.LoupeException;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.train.LensLoss;
import dev.loupe.lens.train.LensOptimizer;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.LensTrainingResult;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.ModelSpec;
import dev.loupe.spark.lens.SparkLensTrainer;
import dev.loupe.train.ProgressBar;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code loupe lens train --spark}: data-parallel tuned-lens training. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"`loupe lens train` on Apache Spark: each step the driver sends the lens to --partitions tasks,"
                + " each computes the gradients of its share of the step's sequences, a tree aggregation sums them and"
                + " the driver applies the optimizer. The same training as one process with gradient accumulation over"
                + " the same batch; checkpoints (--checkpoint-dir) are the plain command's, so either resumes the other's."})
final class LensTrainSparkCommand implements Callable<Integer> {
    @Mixin
    SparkOptions spark;

    @Mixin
    LensData input;

    @Option(names = {"--output", "-o"}, required = true, paramLabel = "OUTPUT", description = "Folder for the trained lens.")
    Path output;

    @Option(names = "--num-steps", defaultValue = "250", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int numSteps;

    @Option(names = "--tokens-per-step", defaultValue = "262144", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int tokensPerStep;

    @Option(names = "--max-seq-len", defaultValue = "2048", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int maxSeqLen;

    @Option(names = "--per-gpu-batch-size", defaultValue = "1", paramLabel = "N", description = "Sequences per forward pass.")
    int batchSize;

    @Option(names = "--loss", defaultValue = "kl", paramLabel = "kl|ce", description = "Default: ${DEFAULT-VALUE}.")
    String loss;

    @Option(names = "--optimizer", defaultValue = "sgd", paramLabel = "sgd|adam", description = "Default: ${DEFAULT-VALUE}.")
    String optimizer;

    @Option(names = "--lr-scale", defaultValue = "1.0", paramLabel = "X", description = "Default: ${DEFAULT-VALUE}.")
    double lrScale;

    @Option(names = "--warmup-steps", defaultValue = "0", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int warmupSteps;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--repeat-data", description = "Cycle through data smaller than the budget.")
    boolean repeatData;

    @Option(names = "--checkpoint-freq", defaultValue = "0", paramLabel = "N", description = "Checkpoint every N steps.")
    int checkpointFreq;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "Where checkpoints go (a resumed run reads them).")
    Path checkpointDir;

    @Override
    public Integer call() {
        if (Files.exists(output.resolve("config.json"))) {
            throw new LoupeException(output + " already holds a lens; give another --output");
        }
        ModelSpec spec = input.model(null);
        SparkSession session = spark.session("loupe lens train --spark");
        var chunks = input.chunks(session, spec, maxSeqLen);
        LensTrainingOptions options = LensTrainingOptions.builder().numSteps(numSteps).tokensPerStep(tokensPerStep)
                .maxSeqLen(maxSeqLen).perGpuBatchSize(batchSize).loss(LensLoss.valueOf(loss.toUpperCase(Locale.ROOT)))
                .optimizer(LensOptimizer.valueOf(optimizer.toUpperCase(Locale.ROOT))).lrScale(lrScale)
                .warmupSteps(warmupSteps).seed(seed).repeatData(repeatData).checkpointFreq(checkpointFreq)
                .checkpointDir(checkpointDir).build();
        try (TunedLens lens = TunedLens.create(ExecutorModels.get(spec))) {
            LensTrainingResult result = SparkLensTrainer.train(session, spec, lens, chunks, options, spark.partitions,
                    ProgressBar.onStandardError(0, numSteps));
            lens.save(output);
            System.out.printf(Locale.ROOT, "loupe: trained %d steps (%d tokens) in %.1f s; wrote %s%n",
                    result.layerLosses().size(), result.tokensSeen(), result.seconds(), output);
        }
        return 0;
    }
}
