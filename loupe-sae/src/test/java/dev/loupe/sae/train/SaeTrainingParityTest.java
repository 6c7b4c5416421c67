package dev.loupe.sae.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.eval.SaeEvaluation;
import dev.loupe.sae.testing.SaeFixtures;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Standard and topk SAEs trained with the settings of SAELens's reference runs ({@code summary.json}: 400 steps
 * × 256 tokens on gpt2's {@code blocks.0.hook_resid_post}, d_in 32 → d_sae 128) land within 10 % of the
 * reference's final L0 and explained variance (mean of the last 20 steps) and of its held-out {@code run_evals}
 * L0, explained variance and CE-loss score, with dead-feature counts of the same order. Bitwise equality is not
 * expected (other random streams); the README's table is the target.
 */
class SaeTrainingParityTest {
    private static SaeFixtures fixtures;
    private static HookedTransformer model;
    private static NDArray tokens;
    private static NDArray evalTokens;

    @BeforeAll
    static void load() {
        fixtures = new SaeFixtures();
        model = fixtures.model("gpt2/standard_resid_pre_l0");
        tokens = TrainingFixture.tokens(fixtures, "tokens");
        evalTokens = TrainingFixture.tokens(fixtures, "eval_tokens");
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"standard", "topk"})
    void reachesTheReferenceWithinTenPercent(String run) {
        SaeTrainingConfig cfg = TrainingFixture.config(run).build();
        JsonNode reference = TrainingFixture.summary().path("runs").path(run);
        ModelActivations source = new ModelActivations(model, tokens, cfg.hookName(), cfg.dIn(),
                cfg.storeBatchSizePrompts(), fixtures.manager());
        try (TrainedSae trained = SaeTrainer.train(cfg, source, SaeTrainer.Checkpoints.NONE, null, fixtures.manager())) {
            List<TrainingStepLog> last20 = trained.curve().subList(trained.curve().size() - 20, trained.curve().size());
            double l0 = last20.stream().mapToDouble(TrainingStepLog::l0).average().orElseThrow();
            double ev = last20.stream().mapToDouble(TrainingStepLog::explainedVariance).average().orElseThrow();
            double mse = last20.stream().mapToDouble(TrainingStepLog::mseLoss).average().orElseThrow();
            SaeEvaluation evals = trained.evaluate(model, evalTokens);
            JsonNode refLast = reference.path("last20_mean");
            JsonNode refEvals = reference.path("heldout_run_evals");
            int refDead = reference.path("final_step").path("dead_features").asInt();
            System.out.printf(Locale.ROOT, "%s: last-20 L0 %.2f (SAELens %.2f), EV %.4f (%.4f), MSE %.2f (%.2f);"
                    + " held-out L0 %.2f (%.2f), EV %.4f (%.4f), CE score %.4f (%.4f), KL score %.4f (%.4f);"
                    + " dead %d (%d)%n", run, l0, refLast.path("l0").asDouble(), ev,
                    refLast.path("explained_variance").asDouble(), mse, refLast.path("mse_loss").asDouble(),
                    evals.sparsity().l0(), refEvals.path("sparsity").path("l0").asDouble(),
                    evals.reconstructionQuality().explainedVariance(),
                    refEvals.path("reconstruction_quality").path("explained_variance").asDouble(),
                    evals.modelPerformancePreservation().ceLossScore(),
                    refEvals.path("model_performance_preservation").path("ce_loss_score").asDouble(),
                    evals.modelBehaviorPreservation().klDivScore(),
                    refEvals.path("model_behavior_preservation").path("kl_div_score").asDouble(),
                    trained.deadFeatures(), refDead);
            assertWithinTenPercent("last-20 L0", l0, refLast.path("l0").asDouble());
            assertWithinTenPercent("last-20 EV", ev, refLast.path("explained_variance").asDouble());
            assertWithinTenPercent("held-out L0", evals.sparsity().l0(), refEvals.path("sparsity").path("l0").asDouble());
            assertWithinTenPercent("held-out EV", evals.reconstructionQuality().explainedVariance(),
                    refEvals.path("reconstruction_quality").path("explained_variance").asDouble());
            assertWithinTenPercent("held-out CE-loss score", evals.modelPerformancePreservation().ceLossScore(),
                    refEvals.path("model_performance_preservation").path("ce_loss_score").asDouble());
            // Same order: within a factor of 3 of the reference's count, or at most 8 of 128 where it has none.
            assertThat(trained.deadFeatures()).as("dead features").isBetween(refDead / 3, Math.max(8, 3 * refDead));
        }
    }

    private static void assertWithinTenPercent(String what, double ours, double reference) {
        assertThat(Math.abs(ours - reference)).as(what + ": %s vs SAELens %s", ours, reference)
                .isLessThanOrEqualTo(0.1 * Math.abs(reference));
    }
}
