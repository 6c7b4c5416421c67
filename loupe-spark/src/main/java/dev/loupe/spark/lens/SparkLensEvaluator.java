package dev.loupe.spark.lens;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.eval.LensEvalOptions;
import dev.loupe.lens.eval.LensEvaluator;
import dev.loupe.lens.eval.LensMetrics;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.ModelSpec;
import dev.loupe.tokenize.TokenChunks;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/**
 * {@link LensEvaluator#evaluate} with its batches spread over Spark tasks: the driver orders and cuts the chunks into
 * the same batches, each task evaluates its batches with the model and lens its executor loaded once, and the driver
 * adds the batches' sums in batch order, so {@code aggregate_metrics.json} is the single machine's.
 */
public final class SparkLensEvaluator {
    private SparkLensEvaluator() {}

    /** One batch of the evaluation: its index and token ids [count, length]. */
    private record Batch(int index, long[] ids, int count, int length) implements java.io.Serializable {}

    /**
     * Evaluates the logit lens and, if {@code lensDir} is given, the tuned lens saved there, on {@code data}.
     *
     * @param lensDir a tuned lens folder every executor can read, or null for the logit lens alone
     * @param partitions how many tasks share the batches
     */
    public static LensMetrics evaluate(SparkSession spark, ModelSpec model, String lensDir, TokenChunks data,
            LensEvalOptions options, int partitions) {
        HookedTransformer driverModel = ExecutorModels.get(model);
        TunedLens driverLens = ExecutorLenses.get(lensDir, model);
        int length = LensEvaluator.sequenceLength(driverModel, driverLens, data, options);
        TokenChunks order = LensEvaluator.ordered(data, options);
        int sequences = LensEvaluator.sequences(order, length, options);
        List<Batch> batches = new ArrayList<>();
        for (int start = 0; start < sequences; start += options.perGpuBatchSize()) {
            int count = Math.min(options.perGpuBatchSize(), sequences - start);
            batches.add(new Batch(batches.size(), order.batch(start, count), count, length));
        }
        List<Tuple2<Integer, LensMetrics>> sums = JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(batches, Math.max(1, Math.min(partitions, batches.size())))
                .map(batch -> {
                    HookedTransformer transformer = ExecutorModels.get(model);
                    TunedLens tuned = ExecutorLenses.get(lensDir, model);
                    try (NDManager manager = NDManager.newBaseManager()) {
                        return new Tuple2<>(batch.index(), LensEvaluator.batch(transformer, tuned,
                                manager.create(batch.ids(), new Shape(batch.count(), batch.length())), options));
                    }
                })
                .collect();
        return LensMetrics.mean(sums.stream().sorted(Comparator.comparingInt(Tuple2::_1)).map(Tuple2::_2).toList(),
                data.natsToBitsPerByte());
    }
}
