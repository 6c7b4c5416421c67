package dev.loupe.spark.lens;

import ai.djl.ndarray.NDArray;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.train.LensGradients;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.LensTrainingResult;
import dev.loupe.lens.train.TunedLensTrainer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.ModelSpec;
import dev.loupe.tokenize.TokenChunks;
import dev.loupe.train.TrainingProgress;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/**
 * Data-parallel tuned-lens training: {@link TunedLensTrainer#train} on the driver (data order, clipping, optimizer,
 * checkpoints and resuming as in one process), with each step's forward and backward passes spread over Spark tasks.
 * Each step the driver broadcasts the lens's parameters; each task rebuilds the lens on its executor's model and
 * computes the gradient sums of its share of the step's passes ({@link TunedLensTrainer#passGradients}); a tree
 * aggregation adds them up and the driver applies the optimizer. The same training as one process with gradient
 * accumulation over the same batch, up to the order float32 gradients are added in.
 */
public final class SparkLensTrainer {
    private SparkLensTrainer() {}

    /** One forward pass of a step: token ids [count·length]. */
    private record Pass(long[] tokens, int count) implements Serializable {}

    /**
     * Trains {@code lens} (in place, on the driver) for the model {@code model} names, {@code partitions} tasks a step.
     *
     * @param lens the lens on the driver, for the driver's copy of the model ({@code ExecutorModels.get(model)})
     */
    public static LensTrainingResult train(SparkSession spark, ModelSpec model, TunedLens lens, TokenChunks data,
            LensTrainingOptions options, int partitions, TrainingProgress progress) {
        HookedTransformer driverModel = ExecutorModels.get(model);
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int sequencesPerStep = TunedLensTrainer.sequencesPerStep(driverModel, options);
        LensTrainingOptions shipped = options.toBuilder().checkpointFreq(0).checkpointDir(null).build();
        boolean bias = lens.bias(0) != null;
        return TunedLensTrainer.train(driverModel, lens, data, options, progress, (step, order, sums) -> {
            List<Pass> passes = new ArrayList<>();
            for (int from = 0; from < sequencesPerStep; from += options.perGpuBatchSize()) {
                int count = Math.min(options.perGpuBatchSize(), sequencesPerStep - from);
                passes.add(new Pass(order.batch(step * sequencesPerStep + from, count), count));
            }
            Broadcast<Map<String, float[]>> parameters = context.broadcast(values(lens));
            int total = passes.size();
            LensGradients summed = context.parallelize(passes, Math.min(partitions, total))
                    .mapPartitions(share -> {
                        List<long[]> tokens = new ArrayList<>();
                        List<Integer> counts = new ArrayList<>();
                        share.forEachRemaining(pass -> {
                            tokens.add(pass.tokens());
                            counts.add(pass.count());
                        });
                        if (tokens.isEmpty()) {
                            return List.<LensGradients>of().iterator();
                        }
                        HookedTransformer executorModel = ExecutorModels.get(model);
                        try (TunedLens copy = TunedLens.create(executorModel, shipped.hook(), bias)) {
                            load(copy, parameters.value());
                            return List.of(TunedLensTrainer.passGradients(executorModel, copy, shipped, tokens, counts,
                                    total)).iterator();
                        }
                    })
                    .treeReduce(LensGradients::plus);
            parameters.destroy();
            for (int i = 0; i < sums.size(); i++) {
                sums.get(i).set(summed.sums()[i]);
            }
            return summed.layerLosses();
        });
    }

    private static Map<String, float[]> values(TunedLens lens) {
        Map<String, float[]> out = new LinkedHashMap<>();
        lens.stateDict().forEach((name, value) -> out.put(name, value.toFloatArray()));
        return out;
    }

    private static void load(TunedLens lens, Map<String, float[]> values) {
        for (Map.Entry<String, NDArray> entry : lens.stateDict().entrySet()) {
            entry.getValue().set(values.get(entry.getKey()));
        }
    }

}
