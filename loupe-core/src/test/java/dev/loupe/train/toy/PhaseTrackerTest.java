package dev.loupe.train.toy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tracked toy run records the phase-change measures every N steps without changing the run. */
class PhaseTrackerTest {
    @TempDir
    Path dir;

    /** Tiny, but with the 64-token context the tracker's late tokens need. */
    private static ToyTrainingOptions options() {
        return ToyTrainingOptions.builder().modelName("tiny").nLayers(2).dModel(16).nHeads(2).dVocab(40).nCtx(64)
                .minRepeat(2).maxRepeat(31).batchSize(2).steps(6).learningRate(1e-2).warmupSteps(2).seed(5).build();
    }

    @Test
    void recordsStepZeroEveryNStepsAndTheLastWithoutChangingTheRun() throws IOException {
        PhaseTracker tracker = new PhaseTracker(dir.resolve("track"), 5, options());
        ToyTrainingResult tracked = ToyTrainer.train(options(), dir.resolve("a"), null, false, null, tracker);
        ToyTrainingResult plain = ToyTrainer.train(options(), dir.resolve("b"), null, false, null);

        List<PhaseRecord> records = PhaseRecord.read(tracker.file());
        assertThat(records).extracting(PhaseRecord::step).containsExactly(0L, 5L, 6L);
        assertThat(records.get(0).trainLoss()).isNaN();
        assertThat(records.get(1).trainLoss()).isEqualTo(tracked.curve().get(4).loss(), org.assertj.core.data.Offset
                .offset(1e-6));
        for (PhaseRecord record : records) {
            assertThat(record.evalLoss()).isBetween(1.0, 10.0);
            assertThat(record.induction()).hasDimensions(2, 2);
            assertThat(record.previousToken()).hasDimensions(2, 2);
            assertThat(record.maxInduction()).isBetween(0f, 1f);
        }
        assertThat(Files.readAllLines(tracker.file()).get(0)).isEqualTo(
                "step,train_loss,eval_loss,icl_score,induction_L0H0,induction_L0H1,induction_L1H0,induction_L1H1,"
                        + "previous_token_L0H0,previous_token_L0H1,previous_token_L1H0,previous_token_L1H1");
        // Measuring between steps reads the parameters only: the run is the one without tracking, bit for bit.
        assertThat(tracked.finalLoss()).isEqualTo(plain.finalLoss());
        assertThat(tracked.evaluationLoss()).isEqualTo(plain.evaluationLoss());
    }

    @Test
    void aRecordSurvivesTheCsvAndBadFilesAreRefused() throws IOException {
        PhaseRecord record = new PhaseRecord(50, 5.25, 5.5, -0.75, new float[][] {{0.1f, 0.9f}},
                new float[][] {{0.8f, 0.05f}});
        Path csv = dir.resolve("tracking.csv");
        Files.writeString(csv, PhaseRecord.header(1, 2) + "\n" + record.toCsv() + "\n");
        PhaseRecord back = PhaseRecord.read(csv).get(0);
        assertThat(back.step()).isEqualTo(50);
        assertThat(back.iclScore()).isEqualTo(-0.75);
        assertThat(back.induction()[0]).containsExactly(0.1f, 0.9f);
        assertThat(back.previousToken()[0]).containsExactly(0.8f, 0.05f);

        Files.writeString(csv, "step,loss\n1,2\n");
        assertThatThrownBy(() -> PhaseRecord.read(csv)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("is not a tracking file");
        assertThatThrownBy(() -> new PhaseTracker(dir, 5, options().toBuilder().nCtx(32).maxRepeat(15).build()))
                .isInstanceOf(LoupeException.class).hasMessageContaining("context of at least 64");
    }
}
