package dev.loupe.train.toy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.stop.StopSignal;
import dev.loupe.stop.StoppedException;
import dev.loupe.testing.Fixtures;
import dev.loupe.train.TrainingCheckpoint;
import dev.loupe.train.TrainingProgress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A requested {@link StopSignal} stops the toy trainer at the next step boundary: a checkpoint of
 * that step (which resumes to the uninterrupted run's weights), no model written, the message naming both.
 */
class ToyTrainerStopTest {
    @TempDir
    Path dir;

    private static ToyTrainingOptions.Builder tiny() {
        return ToyTrainingOptions.builder().modelName("tiny").nLayers(2).dModel(16).nHeads(2).dVocab(40).nCtx(16)
                .minRepeat(2).maxRepeat(7).batchSize(8).steps(12).learningRate(1e-2).warmupSteps(3).seed(11)
                .checkpointEvery(5);
    }

    @Test
    void aStopKeepsACheckpointOfTheLastStepWritesNoModelAndResumesExactly() throws IOException {
        StopSignal signal = new StopSignal();
        // The request arrives as step 6 ends (a signal would come from another thread, at any moment).
        TrainingProgress requestAtSeven = (done, loss, lr) -> {
            if (done == 6) {
                signal.request("SIGTERM");
            }
        };
        Path checkpoints = dir.resolve("checkpoints");
        Path out = dir.resolve("model");
        try (StopSignal.Binding bound = signal.bind()) {
            assertThatThrownBy(() -> ToyTrainer.train(tiny().build(), out, checkpoints, false, requestAtSeven))
                    .isInstanceOf(StoppedException.class)
                    .hasMessage("stopped by SIGTERM after step 6 of 12; the last checkpoint is "
                            + checkpoints.toAbsolutePath().normalize() + " (step 6)");
        }
        assertThat(out).doesNotExist();
        assertThat(TrainingCheckpoint.read(checkpoints).step()).isEqualTo(6);
        try (Stream<Path> files = Files.list(checkpoints)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder(TrainingCheckpoint.JSON, TrainingCheckpoint.TENSORS);
        }

        ToyTrainer.train(tiny().build(), dir.resolve("resumed"), checkpoints, true, null);
        ToyTrainer.train(tiny().build(), dir.resolve("whole"), null, false, null);
        assertSameWeights(dir.resolve("whole"), dir.resolve("resumed"));
    }

    @Test
    void withoutACheckpointFolderTheMessageSaysSoAndAStopBeforeTheFirstStepWritesNothing() {
        StopSignal signal = new StopSignal();
        signal.request("SIGINT");
        Path out = dir.resolve("model");
        try (StopSignal.Binding bound = signal.bind()) {
            assertThatThrownBy(() -> ToyTrainer.train(tiny().build(), out, null, false, null))
                    .hasMessage("stopped by SIGINT before step 1 of 12; no checkpoint folder was given, so the run"
                            + " cannot be resumed");
            Path checkpoints = dir.resolve("checkpoints");
            assertThatThrownBy(() -> ToyTrainer.train(tiny().build(), out, checkpoints, false, null))
                    .hasMessage("stopped by SIGINT before step 1 of 12; no checkpoint was written");
            assertThat(checkpoints).doesNotExist();
        }
        assertThat(out).doesNotExist();
    }

    @Test
    void aStopAfterTheLastStepStillWritesNoModel() {
        StopSignal signal = new StopSignal();
        TrainingProgress requestAtTheEnd = (done, loss, lr) -> {
            if (done == 12) {
                signal.request("SIGTERM");
            }
        };
        Path out = dir.resolve("model");
        Path checkpoints = dir.resolve("checkpoints");
        try (StopSignal.Binding bound = signal.bind()) {
            assertThatThrownBy(() -> ToyTrainer.train(tiny().build(), out, checkpoints, false, requestAtTheEnd))
                    .hasMessage("stopped by SIGTERM after step 12 of 12; the last checkpoint is "
                            + checkpoints.toAbsolutePath().normalize() + " (step 12), before writing " + out);
        }
        assertThat(out).doesNotExist();
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
