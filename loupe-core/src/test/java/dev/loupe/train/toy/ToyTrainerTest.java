package dev.loupe.train.toy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.train.TrainingCheckpoint;
import dev.loupe.train.TrainingProgress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Short runs of the toy trainer on a tiny model: it learns, it is reproducible, and it resumes exactly. */
class ToyTrainerTest {
    @TempDir
    Path dir;

    /** A model small enough for a test: 2 layers of d_model 16, vocabulary 40, context 16. */
    private static ToyTrainingOptions.Builder tiny() {
        return ToyTrainingOptions.builder().modelName("tiny").nLayers(2).dModel(16).nHeads(2).dVocab(40).nCtx(16)
                .minRepeat(2).maxRepeat(7).batchSize(8).steps(30).learningRate(1e-2).warmupSteps(3).seed(11)
                .checkpointEvery(10);
    }

    @Test
    void aFewStepsLowerTheLossAndWriteALoadableModel() throws IOException {
        ToyTrainingResult result = ToyTrainer.train(tiny().build(), dir.resolve("model"), null, false, null);

        double firstFive = result.curve().subList(0, 5).stream().mapToDouble(ToyTrainingResult.Point::loss).average()
                .orElseThrow();
        double lastFive = result.curve().subList(25, 30).stream().mapToDouble(ToyTrainingResult.Point::loss).average()
                .orElseThrow();
        assertThat(result.curve()).hasSize(30);
        assertThat(lastFive).as("mean loss of the last 5 steps vs the first 5").isLessThan(firstFive - 0.1);
        assertThat(result.curve().get(0).learningRate()).isZero(); // the warm-up starts at 0
        for (String file : new String[] {"config.json", "model.safetensors", "loss.csv", "loss.svg", "training.json"}) {
            assertThat(dir.resolve("model").resolve(file)).isRegularFile();
        }
        assertThat(Files.readAllLines(dir.resolve("model/loss.csv"))).hasSize(31).first()
                .isEqualTo("step,loss,learning_rate,grad_norm");
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir.resolve("model"))) {
            assertThat(model.config().attnOnly()).isTrue();
            assertThat(model.config().modelName()).isEqualTo("tiny");
            assertThat(model.config().nLayers()).isEqualTo(2);
        }
    }

    @Test
    void oneSeedGivesTheSameRunAndAnotherSeedAnother() {
        ToyTrainingResult a = ToyTrainer.train(tiny().steps(12).build(), dir.resolve("a"), null, false, null);
        ToyTrainingResult b = ToyTrainer.train(tiny().steps(12).build(), dir.resolve("b"), null, false, null);
        ToyTrainingResult c = ToyTrainer.train(tiny().steps(12).seed(12).build(), dir.resolve("c"), null, false, null);

        assertThat(b.curve()).isEqualTo(a.curve());
        assertThat(b.evaluationLoss()).isEqualTo(a.evaluationLoss());
        assertSameWeights(dir.resolve("a"), dir.resolve("b"));
        assertThat(c.curve().get(0).loss()).isNotEqualTo(a.curve().get(0).loss());
    }

    @Test
    void resumingFromACheckpointEqualsAnUninterruptedRun() throws IOException {
        ToyTrainingResult whole = ToyTrainer.train(tiny().steps(20).build(), dir.resolve("whole"), null, false, null);

        Path ten = dir.resolve("ten");
        writeCheckpointAtStep10(ten);

        ToyTrainingResult resumed = ToyTrainer.train(tiny().steps(20).build(), dir.resolve("resumed"), ten, true, null);

        assertThat(resumed.firstStep()).isEqualTo(10);
        assertThat(resumed.curve()).isEqualTo(whole.curve());
        assertThat(resumed.evaluationLoss()).isEqualTo(whole.evaluationLoss());
        assertSameWeights(dir.resolve("whole"), dir.resolve("resumed"));
    }

    @Test
    void aCheckpointOfOtherOptionsIsRefused() {
        Path checkpoints = dir.resolve("checkpoints");
        ToyTrainer.train(tiny().steps(10).build(), dir.resolve("m"), checkpoints, false, null);
        assertThatThrownBy(() -> ToyTrainer.train(tiny().steps(10).seed(5).build(), dir.resolve("m2"), checkpoints,
                true, null)).isInstanceOf(LoupeException.class).hasMessageContaining("other options");
    }

    /** A run of 20 steps that dies after its checkpoint at step 10. */
    private void writeCheckpointAtStep10(Path checkpoints) {
        // A checkpoint is written at step 10, then the run dies during step 11.
        TrainingProgress stopper = (done, loss, lr) -> {
            if (done == 11) {
                throw new IllegalStateException("interrupted");
            }
        };
        assertThatThrownBy(() -> ToyTrainer.train(tiny().steps(20).checkpointEvery(10).build(), dir.resolve("never"),
                checkpoints, false, stopper)).hasMessage("interrupted");
        assertThat(TrainingCheckpoint.read(checkpoints).step()).isEqualTo(10);
    }

    private static void assertSameWeights(Path a, Path b) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> first = Fixtures.readAll(a.resolve("model.safetensors"), manager);
            Map<String, NDArray> second = Fixtures.readAll(b.resolve("model.safetensors"), manager);
            assertThat(second.keySet()).containsExactlyElementsOf(first.keySet());
            first.forEach((name, value) -> assertThat(second.get(name).toFloatArray()).as(name)
                    .containsExactly(value.toFloatArray()));
        }
    }
}
