package dev.loupe.cli.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The weights line comes from what a model folder records about itself, never from where the folder lies. */
class WeightsNoteTest {
    private static final Path FIXTURE = Path.of("../testdata/models/gpt2-tok");
    private static final Path SHIPPED = Path.of("../models/induction-2l");

    @TempDir
    Path dir;

    @Test
    void aFixtureSaysRandomWithTheSeedItsReferenceRecords() {
        assertThat(WeightsNote.isRandomFixture(FIXTURE)).isTrue();
        assertThat(WeightsNote.of(FIXTURE)).startsWith(WeightsNote.RANDOM + " (drawn with seed 4242,");
        assertThat(WeightsNote.of(Path.of("../testdata/models/extra/gpt2_bf16"))).contains("seed 1000");
    }

    @Test
    void aShippedModelSaysLoupeTrainedItWithTheStepsAndLossItsTrainingJsonRecords() {
        assertThat(WeightsNote.isRandomFixture(SHIPPED)).isFalse();
        assertThat(WeightsNote.of(SHIPPED)).isEqualTo(WeightsNote.TRAINED + ": Loupe trained this model for 6000 steps"
                + " (final training loss 3.706; its training.json and MODEL.md say how).");
    }

    @Test
    void theFolderNameAndPlacePlayNoPart() throws Exception {
        // A fixture's files copied far from testdata/: still random.
        Path moved = Files.createDirectories(dir.resolve("models/my-model"));
        Files.copy(FIXTURE.resolve("config.json"), moved.resolve("config.json"));
        Files.copy(FIXTURE.resolve("reference.json"), moved.resolve("reference.json"));
        assertThat(WeightsNote.of(moved)).startsWith(WeightsNote.RANDOM);

        // A published checkpoint's files inside a folder called testdata next to a FIXTURES.md: trained.
        Path published = Files.createDirectories(dir.resolve("testdata/models/gpt2"));
        Files.writeString(dir.resolve("testdata/FIXTURES.md"), "# not a marker");
        Files.copy(FIXTURE.resolve("config.json"), published.resolve("config.json"));
        assertThat(WeightsNote.isRandomFixture(published)).isFalse();
        assertThat(WeightsNote.of(published)).isEqualTo(WeightsNote.TRAINED + ": the checkpoint as published in gpt2.");
    }

    @Test
    void recordsThatSayNothingLeaveThePlainTrainedLine() throws Exception {
        Files.writeString(dir.resolve("reference.json"), "{\"weight_seed\": \"none\"}");
        Files.writeString(dir.resolve("training.json"), "{\"options\": {\"steps\": 0}}");
        assertThat(WeightsNote.of(dir)).startsWith(WeightsNote.TRAINED + ": the checkpoint as published");
        Files.writeString(dir.resolve("reference.json"), "not json");
        assertThat(WeightsNote.isRandomFixture(dir)).isFalse();
    }
}
