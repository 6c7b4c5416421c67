package dev.loupe.train.ioi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StopSignal;
import dev.loupe.stop.StoppedException;
import dev.loupe.train.toy.ToyTrainingResult;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A short IOI run on a tiny model learns, writes a folder that loads with its tokenizer, and resumes exactly. */
class IoiTrainerTest {
    /** Evaluation prompts per split: the trainer's 400 would make the test slower, not stronger. */
    private static final int PROMPTS = 50;

    @TempDir
    Path dir;

    private static IoiTrainingOptions.Builder tiny() {
        return IoiTrainingOptions.builder().modelName("ioi-tiny").nLayers(1).dModel(16).nHeads(2).dMlp(32).steps(30)
                .batchSize(8).learningRate(1e-2).warmupSteps(3).seed(4).checkpointEvery(10);
    }

    @Test
    void aFewStepsLowerTheAnswerLossAndWriteAModelThatReadsText() {
        IoiTrainingResult result = IoiTrainer.train(tiny().build(), dir.resolve("model"), null, false, null, PROMPTS);

        double firstFive = result.curve().subList(0, 5).stream().mapToDouble(ToyTrainingResult.Point::loss).average()
                .orElseThrow();
        double lastFive = result.curve().subList(25, 30).stream().mapToDouble(ToyTrainingResult.Point::loss).average()
                .orElseThrow();
        assertThat(firstFive).as("about ln(vocabulary) at the start").isGreaterThan(3.5);
        assertThat(lastFive).as("mean loss of the last 5 steps vs the first 5").isLessThan(firstFive - 1);
        assertThat(result.scores()).containsOnlyKeys(IoiSplit.values());
        assertThat(result.scores().get(IoiSplit.TRAIN).prompts()).isEqualTo(PROMPTS);
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir.resolve("model"))) {
            assertThat(model.config().attnOnly()).isFalse();
            assertThat(model.config().dMlp()).isEqualTo(32);
            assertThat(model.tokenizer().encode("Mary gave a drink to")).containsExactly(
                    IoiVocabulary.encode("Mary gave a drink to"));
            // What the trainer measured is what the saved model gives.
            IoiScore again = IoiScore.of(model, IoiTrainer.evaluationPrompts(IoiTask.of(4), IoiSplit.HELD_OUT_BOTH, PROMPTS));
            assertThat(again.logitDiff()).isCloseTo(result.scores().get(IoiSplit.HELD_OUT_BOTH).logitDiff(),
                    org.assertj.core.data.Offset.offset(1e-4));
        }
    }

    @Test
    void aStoppedRunResumesFromItsCheckpointAsIfNeverStopped() {
        IoiTrainingResult whole = IoiTrainer.train(tiny().steps(12).build(), dir.resolve("whole"), null, false, null,
                PROMPTS);
        Path checkpoints = dir.resolve("checkpoints");
        StopSignal signal = new StopSignal();
        try (StopSignal.Binding bound = signal.bind()) {
            assertThatThrownBy(() -> IoiTrainer.train(tiny().steps(12).build(), dir.resolve("stopped"), checkpoints,
                    false, (done, loss, lr) -> {
                        if (done == 5) {
                            signal.request("a test");
                        }
                    }, PROMPTS)).isInstanceOf(StoppedException.class).hasMessageContaining("after step 5 of 12");
        }
        assertThat(dir.resolve("stopped")).doesNotExist();
        IoiTrainingResult resumed = IoiTrainer.train(tiny().steps(12).build(), dir.resolve("resumed"), checkpoints, true,
                null, PROMPTS);
        assertThat(resumed.firstStep()).isEqualTo(5);
        assertThat(resumed.curve()).isEqualTo(whole.curve());
        assertThat(resumed.scores()).isEqualTo(whole.scores());
    }
}
