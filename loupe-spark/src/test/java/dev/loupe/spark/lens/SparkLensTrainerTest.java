package dev.loupe.spark.lens;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.lens.TunedLens;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.LensTrainingResult;
import dev.loupe.lens.train.TunedLensTrainer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.LensReference;
import dev.loupe.spark.SparkTesting;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Data-parallel tuned-lens training in local[2] equals one process's training with the same batches. */
class SparkLensTrainerTest {
    private static SparkSession spark;
    private static HookedTransformer model;
    private static TokenChunks data;

    @BeforeAll
    static void load() {
        spark = SparkTesting.session();
        model = ExecutorModels.get(LensReference.MODEL);
        data = LensReference.data();
    }

    @Test
    void twentyStepsEqualOneProcessWithTheSameBatch() {
        try (TunedLens spread = TunedLens.create(model)) {
            LensTrainingResult result = SparkLensTrainer.train(spark, LensReference.MODEL, spread, data,
                    LensReference.options().build(), 3, null);
            assertThat(result.layerLosses()).hasSize(20);
            double worst = LensReference.largestDifference(LensReference.twentySteps(), spread);
            System.out.println("SparkLensTrainerTest: largest parameter difference after 20 steps " + worst);
            assertThat(worst).isLessThanOrEqualTo(1e-5);
            assertThat(spread.weight(0).abs().sum().getFloat()).isPositive();
        }
    }

    @Test
    void resumesFromTheSameCheckpoints(@TempDir Path dir) {
        LensTrainingOptions whole = LensReference.options().numSteps(4).build();
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
            LensTrainingResult rest = SparkLensTrainer.train(spark, LensReference.MODEL, resumed, data, checkpointed, 2,
                    null);
            assertThat(rest.firstStep()).isEqualTo(2);
            assertThat(LensReference.largestDifference(LensReference.values(uninterrupted), resumed))
                    .isLessThanOrEqualTo(1e-5);
        }
    }
}
