package dev.loupe.lens.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.lens.TunedLens;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.lens.eval.LensEvalOptions;
import dev.loupe.lens.eval.LensEvaluator;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StopSignal;
import dev.loupe.stop.StoppedException;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TokenChunks;
import dev.loupe.train.TrainingCheckpoint;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lens trainer and evaluator stop at their safe points once the thread's {@link StopSignal} is
 * requested: the trainer keeps a checkpoint of its last step, which resumes to the uninterrupted
 * run's lens exactly; the evaluator stops between batches.
 */
class StopAtSafePointsTest {
    private static final int SEQ = 32;
    private static HookedTransformer model;
    private static TokenChunks text;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        text = TokenChunks.of(EnglishText.documents(8_000, 3), model.tokenizer(), SEQ);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void aStoppedTrainingKeepsItsLastStepAndResumesToTheUninterruptedLens(@TempDir Path dir) {
        LensTrainingOptions options = LensTrainingOptions.builder().numSteps(4).tokensPerStep(2 * SEQ).maxSeqLen(SEQ)
                .perGpuBatchSize(1).checkpointFreq(3).checkpointDir(dir).build();
        StopSignal signal = new StopSignal();
        try (TunedLens stopped = TunedLens.create(model); StopSignal.Binding bound = signal.bind()) {
            assertThatThrownBy(() -> TunedLensTrainer.train(model, stopped, text, options, (done, loss, lr) -> {
                if (done == 2) {
                    signal.request("SIGTERM");
                }
            })).isInstanceOf(StoppedException.class).hasMessage("stopped by SIGTERM after step 2 of 4; the last"
                    + " checkpoint is " + dir.toAbsolutePath().normalize() + " (step 2)");
        }
        assertThat(TrainingCheckpoint.read(dir).step()).isEqualTo(2);
        try (TunedLens resumed = TunedLens.create(model); TunedLens whole = TunedLens.create(model)) {
            assertThat(TunedLensTrainer.train(model, resumed, text, options, null).firstStep()).isEqualTo(2);
            TunedLensTrainer.train(model, whole, text, options.toBuilder().checkpointFreq(0).checkpointDir(null).build(),
                    null);
            for (int layer = 0; layer < 2; layer++) {
                assertThat(resumed.weight(layer).toFloatArray()).containsExactly(whole.weight(layer).toFloatArray());
                assertThat(resumed.bias(layer).toFloatArray()).containsExactly(whole.bias(layer).toFloatArray());
            }
        }
    }

    @Test
    void theEvaluatorStopsBetweenBatches() {
        StopSignal signal = new StopSignal();
        signal.request("SIGINT");
        try (StopSignal.Binding bound = signal.bind()) {
            assertThatThrownBy(() -> LensEvaluator.evaluate(model, null, text,
                    LensEvalOptions.defaults().withMaxSeqLen(SEQ).withPerGpuBatchSize(2).withTokens(4L * SEQ)))
                    .isInstanceOf(StoppedException.class)
                    .hasMessage("stopped by SIGINT after batch 0 of 2; nothing was kept");
        }
    }
}
