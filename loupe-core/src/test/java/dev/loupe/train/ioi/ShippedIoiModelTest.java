package dev.loupe.train.ioi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shipped IOI model does the task on what it never saw: the logit difference IO − S is above 2 nats
 * on held-out templates, on held-out name pairs and on both, over the evaluation prompts regenerated from
 * the seed in its training.json; and its card's numbers are those prompts' scores.
 */
class ShippedIoiModelTest {
    /** Surefire runs each module in its own folder, one below the repository root. */
    static final Path IOI_3L = Path.of("../models/ioi-3l");

    private static HookedTransformer model;
    private static JsonNode training;
    private static IoiTask task;

    @BeforeAll
    static void load() throws IOException {
        model = HookedTransformer.fromPretrainedNoProcessing(IOI_3L);
        training = new ObjectMapper().readTree(Files.readString(IOI_3L.resolve("training.json")));
        task = IoiTask.of(training.path("options").path("seed").asLong());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void heldOutTemplatesAndPairingsGetALogitDifferenceAboveTwoNats() {
        for (IoiSplit split : IoiSplit.values()) {
            IoiScore score = IoiScore.of(model, IoiTrainer.evaluationPrompts(task, split));
            assertThat(score.prompts()).isGreaterThanOrEqualTo(100);
            assertThat(score.logitDiff()).as("%s: %s", split, score).isGreaterThan(2.0);
            double recorded = training.path("evaluation").path(split.name().toLowerCase(java.util.Locale.ROOT))
                    .path("logit_diff").asDouble();
            assertThat(score.logitDiff()).as("%s as training.json records it", split).isCloseTo(recorded,
                    org.assertj.core.data.Offset.offset(1e-3));
        }
    }

    @Test
    void theSplitInTrainingJsonIsTheSeedsAndTheModelReadsItsOwnText() {
        assertThat(training.path("held_out_templates").toString()).isEqualTo(new ObjectMapper().valueToTree(
                task.heldOutTemplates().stream().map(IoiTemplate::name).toList()).toString());
        assertThat(training.path("held_out_pairs")).hasSize(IoiTask.HELD_OUT_PAIRS);
        assertThat(model.config().attnOnly()).isFalse();
        assertThat(model.config().dVocab()).isEqualTo(IoiVocabulary.size());
        String prompt = "When Mary and John went to the store , John gave a drink to";
        assertThat(model.toStrTokens(prompt)).startsWith(IoiVocabulary.BOS, "When", "Mary");
    }
}
