package dev.loupe.spark.bench;

import dev.loupe.lens.TunedLens;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.TunedLensTrainer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.LoupeSpark;
import dev.loupe.spark.ModelSpec;
import dev.loupe.spark.harvest.Harvest;
import dev.loupe.spark.harvest.HarvestOptions;
import dev.loupe.spark.lens.SparkLensTrainer;
import dev.loupe.tokenize.TokenChunks;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;

/**
 * Spark's overhead on one machine: harvesting every layer's {@code hook_resid_post} of 64 chunks × 128 tokens on a
 * GPT-2-small-shaped model, {@code local[2]} against {@link SinglePassParquet} (same rows, same Parquet library), and
 * a tuned-lens step {@code local[2]} against one process. {@code ./bench --spark} runs it. Arguments: the model folder
 * (e.g. the one loupe-bench generates, {@code ${TMPDIR:-/tmp}/loupe-bench-gpt2-small}), then optionally the result
 * file (JSON, with a Markdown twin; default spark-bench.json) and the number of rounds (default 3: a warm-up, then two
 * measured; 1: one measured round without warm-up). The Parquet it writes goes to a temporary folder, deleted after.
 */
public final class SparkBench {
    private static final int CHUNKS = 64;
    private static final int SEQ = 128;
    private static final int BATCH = 8;

    private SparkBench() {}

    public static void main(String[] args) throws Exception {
        ModelSpec spec = new ModelSpec(args[0], false);
        Path result = Path.of(args.length > 1 ? args[1] : "spark-bench.json");
        Path out = Files.createTempDirectory("loupe-spark-bench");
        double loadBefore = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        HookedTransformer model = ExecutorModels.get(spec);
        int layers = model.config().nLayers();
        List<String> hooks = IntStream.range(0, layers).mapToObj(l -> "blocks." + l + ".hook_resid_post").toList();
        Random random = new Random(7);
        List<long[]> chunks = new ArrayList<>();
        for (int c = 0; c < CHUNKS; c++) {
            chunks.add(random.longs(SEQ, 0, model.config().dVocab()).toArray());
        }
        SparkSession spark = LoupeSpark.session("local[2]", "loupe spark bench");
        HarvestOptions options = new HarvestOptions(spec, "blocks\\.\\d+\\.hook_resid_post", SEQ, BATCH, 2, 0, SEQ);
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int measured = rounds == 1 ? 1 : rounds - 1;
        // One warm-up of each (JIT, libtorch's first-call costs), then alternate: a, b, a, b.
        double single = 0;
        double distributed = 0;
        for (int round = 0; round < rounds; round++) {
            long t0 = System.nanoTime();
            SinglePassParquet.write(model, chunks, hooks, BATCH, out.resolve("single-" + round + ".parquet"));
            long t1 = System.nanoTime();
            Harvest.writeParquet(Harvest.harvestTokens(spark, chunks, options), out.resolve("spark-" + round + ".parquet"));
            long t2 = System.nanoTime();
            if (round > 0 || rounds == 1) {
                single += (t1 - t0) / 1e9;
                distributed += (t2 - t1) / 1e9;
            }
            System.out.printf(Locale.ROOT, "harvest round %d: one process %.1f s, local[2] %.1f s%n", round,
                    (t1 - t0) / 1e9, (t2 - t1) / 1e9);
            delete(out.resolve("single-" + round + ".parquet"));
            delete(out.resolve("spark-" + round + ".parquet"));
        }
        long tokens = (long) CHUNKS * SEQ;

        TokenChunks data = new TokenChunks(chunks, 1.0);
        LensTrainingOptions training = LensTrainingOptions.builder().numSteps(3).tokensPerStep(2 * SEQ).maxSeqLen(SEQ)
                .perGpuBatchSize(1).repeatData(true).build();
        double oneStep;
        double sparkStep;
        try (TunedLens lens = TunedLens.create(model)) {
            oneStep = TunedLensTrainer.train(model, lens, data, training, null).seconds() / 3;
        }
        try (TunedLens lens = TunedLens.create(model)) {
            sparkStep = SparkLensTrainer.train(spark, spec, lens, data, training, 2, null).seconds() / 3;
        }
        spark.stop();
        delete(out);
        SparkBenchResult measuredResult = new SparkBenchResult(args[0], tokens, layers, measured, single / measured,
                distributed / measured, 2 * SEQ, oneStep, sparkStep, loadBefore,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                Runtime.getRuntime().availableProcessors(), "JDK " + Runtime.version());
        measuredResult.write(result);
        System.out.println();
        System.out.print(measuredResult.markdown());
        System.out.println("Wrote " + result);
    }

    private static void delete(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
