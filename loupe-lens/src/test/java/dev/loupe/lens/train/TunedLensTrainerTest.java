package dev.loupe.lens.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.lens.eval.LensEvalOptions;
import dev.loupe.lens.eval.LensEvaluator;
import dev.loupe.lens.eval.LensMetrics;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training a tuned lens on models/gpt2-tok (GPT-2 with its real vocabulary, random weights) with
 * English the project writes itself ({@link EnglishText}); evaluation on text from another seed.
 */
class TunedLensTrainerTest {
    private static final int SEQ = 64;
    private static HookedTransformer model;
    private static TokenChunks train;
    private static TokenChunks heldOut;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        train = TokenChunks.of(EnglishText.documents(60_000, 1), model.tokenizer(), SEQ);
        heldOut = TokenChunks.of(EnglishText.documents(8_000, 2), model.tokenizer(), SEQ);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static LensTrainingOptions.Builder small() {
        return LensTrainingOptions.builder().numSteps(25).tokensPerStep(2 * SEQ).maxSeqLen(SEQ).perGpuBatchSize(2);
    }

    @Test
    void trainingLowersEveryLayersKlBelowTheLogitLens() {
        try (TunedLens lens = TunedLens.create(model)) {
            LensTrainingResult result = TunedLensTrainer.train(model, lens, train, small().build(), null);
            assertThat(result.layerLosses()).hasSize(25);
            LensMetrics metrics = LensEvaluator.evaluate(model, lens, heldOut,
                    LensEvalOptions.defaults().withMaxSeqLen(SEQ).withPerGpuBatchSize(4));
            for (int layer = 0; layer < 2; layer++) {
                System.out.printf("layer %d: KL logit lens %.4f, tuned lens %.4f bits per byte%n", layer,
                        metrics.logit().get("kl")[layer], metrics.tuned().get("kl")[layer]);
                assertThat(metrics.tuned().get("kl")[layer]).as("layer %d", layer)
                        .isLessThan(metrics.logit().get("kl")[layer]);
                assertThat(result.layerLosses().get(24)[layer]).isLessThan(result.layerLosses().get(0)[layer]);
            }
        }
    }

    @Test
    void aResumedRunEqualsAnUninterruptedOne(@TempDir Path dir) {
        LensTrainingOptions whole = small().numSteps(4).build();
        try (TunedLens uninterrupted = TunedLens.create(model); TunedLens resumed = TunedLens.create(model)) {
            TunedLensTrainer.train(model, uninterrupted, train, whole, null);
            LensTrainingOptions checkpointed = whole.toBuilder().checkpointFreq(2).checkpointDir(dir).build();
            // Stop after 2 steps (a run killed there), then resume from its checkpoint in a fresh lens.
            try (TunedLens firstHalf = TunedLens.create(model)) {
                TunedLensTrainer.train(model, firstHalf, train, checkpointed,
                        (done, loss, lr) -> {
                            if (done == 2) {
                                throw new StopHere();
                            }
                        });
            } catch (StopHere expected) {
                // the checkpoint of step 2 is on disk
            }
            LensTrainingResult rest = TunedLensTrainer.train(model, resumed, train, checkpointed, null);
            assertThat(rest.firstStep()).isEqualTo(2);
            for (int layer = 0; layer < 2; layer++) {
                assertThat(resumed.weight(layer).toFloatArray()).containsExactly(uninterrupted.weight(layer).toFloatArray());
                assertThat(resumed.bias(layer).toFloatArray()).containsExactly(uninterrupted.bias(layer).toFloatArray());
            }
        }
    }

    @Test
    void biasOnlyLeavesTheMatricesAtZeroAndAdamCrossEntropyTrain() {
        try (TunedLens lens = TunedLens.create(model)) {
            TunedLensTrainer.train(model, lens, train, small().numSteps(2).biasOnly(true).build(), null);
            assertThat(lens.weight(0).abs().sum().getFloat()).isZero();
            assertThat(lens.bias(0).abs().sum().getFloat()).isPositive();
        }
        try (TunedLens lens = TunedLens.create(model)) {
            LensTrainingResult adam = TunedLensTrainer.train(model, lens, train, small().numSteps(2)
                    .optimizer(LensOptimizer.ADAM).loss(LensLoss.CE).build(), null);
            assertThat(adam.layerLosses().get(0)[0]).isPositive();
            assertThat(lens.weight(1).abs().sum().getFloat()).isPositive();
        }
    }

    @Test
    void tooLittleDataIsRefusedBeforeAnyWork() {
        try (TunedLens lens = TunedLens.create(model)) {
            assertThatThrownBy(() -> TunedLensTrainer.train(model, lens, heldOut, small().numSteps(250).build(), null))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("sequences of 64 tokens")
                    .hasMessageContaining("--repeat-data");
            assertThatThrownBy(() -> TunedLensTrainer.train(model, lens, train, small().tokensPerStep(100).build(),
                    null)).hasMessageContaining("multiple of the sequence length");
            assertThat(lens.weight(0).abs().sum().getFloat()).isZero();
        }
    }

    /** Thrown from the progress callback to stop a run the way a kill would, after its checkpoint. */
    private static final class StopHere extends RuntimeException {}
}
