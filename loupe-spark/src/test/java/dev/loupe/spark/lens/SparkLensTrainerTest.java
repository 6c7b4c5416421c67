package dev.loupe.spark.lens;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.LensTrainingResult;
import dev.loupe.lens.train.TunedLensTrainer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.ModelSpec;
import dev.loupe.spark.SparkTesting;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Data-parallel tuned-lens training in local[2] equals one process's training with the same batches. */
class SparkLensTrainerTest {
    private static final ModelSpec MODEL = new ModelSpec(Fixtures.model("gpt2-tok").toString(), false);
    private static final int SEQ = 32;

    private static SparkSession spark;
    private static HookedTransformer model;
    private static TokenChunks data;

    @BeforeAll
    static void load() {
        spark = SparkTesting.session();
        model = ExecutorModels.get(MODEL);
        data = TokenChunks.of(EnglishText.documents(12_000, 1), model.tokenizer(), SEQ);
    }

    private static LensTrainingOptions.Builder options() {
        return LensTrainingOptions.builder().numSteps(20).tokensPerStep(4 * SEQ).maxSeqLen(SEQ).perGpuBatchSize(1)
                .warmupSteps(2).repeatData(true);
    }

    @Test
    void twentyStepsEqualOneProcessWithTheSameBatch() {
        try (TunedLens single = TunedLens.create(model); TunedLens spread = TunedLens.create(model)) {
            TunedLensTrainer.train(model, single, data, options().build(), null);
            LensTrainingResult result = SparkLensTrainer.train(spark, MODEL, spread, data, options().build(), 3, null);
            assertThat(result.layerLosses()).hasSize(20);
            double worst = largestDifference(single, spread);
            System.out.println("SparkLensTrainerTest: largest parameter difference after 20 steps " + worst);
            assertThat(worst).isLessThanOrEqualTo(1e-5);
            assertThat(single.weight(0).abs().sum().getFloat()).isPositive();
        }
    }

    @Test
    void resumesFromTheSameCheckpoints(@TempDir Path dir) {
        LensTrainingOptions whole = options().numSteps(4).build();
        LensTrainingOptions checkpointed = whole.toBuilder().checkpointFreq(2).checkpointDir(dir).build();
        try (TunedLens uninterrupted = TunedLens.create(model); TunedLens firstHalf = TunedLens.create(model);
                TunedLens resumed = TunedLens.create(model)) {
            TunedLensTrainer.train(model, uninterrupted, data, whole, null);
            // A one-process run stopped after 2 steps, resumed on Spark from its checkpoint.
            try {
                TunedLensTrainer.train(model, firstHalf, data, checkpointed, (done, loss, lr) -> {
                    if (done == 2) {
                        throw new IllegalStateException("stop here");
                    }
                });
            } catch (IllegalStateException expected) {
                // the checkpoint of step 2 is on disk
            }
            LensTrainingResult rest = SparkLensTrainer.train(spark, MODEL, resumed, data, checkpointed, 2, null);
            assertThat(rest.firstStep()).isEqualTo(2);
            assertThat(largestDifference(uninterrupted, resumed)).isLessThanOrEqualTo(1e-5);
        }
    }

    private static double largestDifference(TunedLens a, TunedLens b) {
        double worst = 0;
        for (Map.Entry<String, NDArray> entry : a.stateDict().entrySet()) {
            float[] x = entry.getValue().toFloatArray();
            float[] y = b.stateDict().get(entry.getKey()).toFloatArray();
            for (int i = 0; i < x.length; i++) {
                worst = Math.max(worst, Math.abs(x[i] - y[i]));
            }
        }
        return worst;
    }
}
