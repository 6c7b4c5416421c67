package dev.loupe.lens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trajectory of the Python lens on "Paris is the capital of", against the library's own outputs. */
class PredictionTrajectoryTest extends LensReferenceTest {

    @TempDir
    Path dir;

    @Test
    void everyCellMatchesTheReferenceLogits() {
        long paris = 6342; // " Paris"
        PredictionTrajectory trajectory;
        try (TunedLens lens = TunedLens.load(LensFixtures.LENS, model)) {
            trajectory = PredictionTrajectory.compute(lens, model, reference.get("input_ids"), paris, 5, List.of());
        }
        assertThat(trajectory.lensName()).isEqualTo("tuned lens");
        assertThat(trajectory.layerLabels()).containsExactly("0", "1", "output");
        assertThat(trajectory.inputTokens()).containsExactly("<|endoftext|>", "Paris", " is", " the", " capital", " of");
        for (int row = 0; row < 3; row++) {
            NDArray logits = row < 2 ? reference.get("tuned_lens." + row) : reference.get("final_logits");
            NDArray logProbs = logits.get(0).logSoftmax(-1); // [pos, vocab]
            float[] lp = logProbs.toFloatArray();
            int vocab = 50257;
            for (int p = 0; p < 6; p++) {
                int[] best = PredictionTrajectory.topIndices(lp, p * vocab, vocab, 5);
                for (int i = 0; i < 5; i++) {
                    assertThat(trajectory.topTokens()[row][p][i]).as("row %d pos %d top %d", row, p, i).isEqualTo(best[i]);
                    assertThat((double) trajectory.topProbs()[row][p][i]).isCloseTo(Math.exp(lp[p * vocab + best[i]]),
                            Offset.offset(ATOL));
                }
                int rank = 1;
                for (int v = 0; v < vocab; v++) {
                    rank += lp[p * vocab + v] > lp[p * vocab + (int) paris] ? 1 : 0;
                }
                assertThat(trajectory.targetRank()[row][p]).isEqualTo(rank);
                assertThat(trajectory.topTokenStrings().get(row).get(p).get(0))
                        .isEqualTo(model.toStrTokens(new long[] {best[0]}).get(0));
            }
            float[] kl = row < 2 ? reference.get("kl_tuned_lens").get(row).toFloatArray() : new float[6];
            for (int p = 0; p < 6; p++) {
                assertThat((double) trajectory.klToFinal()[row][p]).isCloseTo(kl[p], Offset.offset(KL_ATOL));
            }
        }
        // The entropy of the output row, from the reference logits.
        NDArray lp = reference.get("final_logits").get(0).logSoftmax(-1);
        float[] entropy = lp.exp().mul(lp).sum(new int[] {-1}).neg().toFloatArray();
        for (int p = 0; p < 6; p++) {
            assertThat((double) trajectory.entropy()[2][p]).isCloseTo(entropy[p], Offset.offset(ATOL));
        }
    }

    @Test
    void theTableAndBothExportsCarryTheSameNumbers() throws IOException {
        PredictionTrajectory trajectory = PredictionTrajectory.compute(LogitLens.of(model), model,
                reference.get("input_ids"), 6342L, 3, List.of());
        String table = trajectory.toTable();
        assertThat(table).startsWith("Logit lens: top-1 prediction").contains("output", " capital", "KL(output ‖ layer)",
                "Rank of the target token 6342");
        assertThat(table.lines().filter(l -> l.startsWith("output")).count()).isEqualTo(3);

        trajectory.writeJson(dir.resolve("t.json"));
        JsonNode json = new ObjectMapper().readTree(dir.resolve("t.json").toFile());
        assertThat(json.get("lens").asText()).isEqualTo("logit lens");
        assertThat(json.get("top_tokens").get(2).get(5).get(0).asLong()).isEqualTo(trajectory.topTokens()[2][5][0]);
        assertThat(json.get("kl_to_final").get(1).get(3).floatValue()).isEqualTo(trajectory.klToFinal()[1][3]);
        assertThat(json.get("target_rank").get(0).get(1).asInt()).isEqualTo(trajectory.targetRank()[0][1]);

        trajectory.writeSafetensors(dir.resolve("t.safetensors"));
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve("t.safetensors"));
             NDManager scratch = NDManager.newBaseManager()) {
            assertThat(file.info("top_tokens").shape()).containsExactly(3, 6, 3);
            assertThat(file.info("kl_to_final").shape()).containsExactly(3, 6);
            assertThat(file.load("target_prob", scratch).get(2).toFloatArray()).containsExactly(trajectory.targetProb()[2]);
            assertThat(file.load("input_ids", scratch).toLongArray()).containsExactly(trajectory.inputIds());
            assertThat(file.metadata()).containsEntry("lens", "logit lens").containsKey("input_tokens");
        }
    }

    @Test
    void aBatchOrAnOutOfVocabularyTargetIsRefused() {
        NDArray two = manager.create(new long[][] {{1, 2}, {3, 4}});
        assertThatThrownBy(() -> PredictionTrajectory.compute(LogitLens.of(model), model, two, null, 3, List.of()))
                .isInstanceOf(LoupeException.class).hasMessageContaining("one prompt");
        assertThatThrownBy(() -> PredictionTrajectory.compute(LogitLens.of(model), model, reference.get("input_ids"),
                60000L, 3, List.of())).isInstanceOf(LoupeException.class).hasMessageContaining("outside the vocabulary");
    }
}
