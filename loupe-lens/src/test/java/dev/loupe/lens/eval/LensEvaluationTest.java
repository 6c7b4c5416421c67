package dev.loupe.lens.eval;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The library's {@code eval --layer_transfer --record_logit_stats} on the three rows of
 * lens_extra/inputs.safetensors, one row per batch, in nats: eval/aggregate_metrics.json,
 * eval/batches.jsonl and logit_stats.safetensors.
 */
class LensEvaluationTest {
    static final Path EXTRA = Fixtures.ROOT.resolve("lens_extra");

    static final ObjectMapper JSON = new ObjectMapper();

    static HookedTransformer model;
    static TunedLens tuned;
    static LensEvaluation evaluation;

    @BeforeAll
    static void evaluate() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        tuned = TunedLens.load(Fixtures.ROOT.resolve("lens"), model);
        LensEvalOptions options = LensEvalOptions.defaults().withMaxSeqLen(12).withShuffle(false)
                .withLayerTransfer(true).withRecordLogitStats(true);
        evaluation = LensEvaluator.run(model, tuned, TokenIdInput.read(EXTRA.resolve("inputs.safetensors")),
                options);
    }

    @AfterAll
    static void close() {
        tuned.close();
        model.close();
    }

    @Test
    void everyAggregateAndPerBatchValueIsTheLibrarys() {
        double worst = compareTree(Fixtures.json(EXTRA.resolve("eval/aggregate_metrics.json")),
                JSON.valueToTree(evaluation.aggregate().toJson()), "");
        JsonNode batches = Fixtures.json(EXTRA.resolve("eval/batches.jsonl"));
        assertThat(batches.size()).isEqualTo(evaluation.batches().size()).isEqualTo(3);
        for (int b = 0; b < 3; b++) {
            JsonNode ours = JSON.valueToTree(evaluation.batches().get(b).toLibraryJson());
            worst = Math.max(worst, compareTree(batches.get(b), ours, "batch " + b));
        }
        System.out.printf("eval: largest difference / max(1, |reference|) %.2e%n", worst);
        assertThat(evaluation.aggregate().tokens()).isEqualTo(36);
        assertThat(evaluation.aggregate().natsToBitsPerByte()).isEqualTo(1.0);
    }

    /** Every number of {@code expected} is in {@code actual} within 1e-4 × max(1, |value|); returns the worst ratio. */
    static double compareTree(JsonNode expected, JsonNode actual, String path) {
        if (expected.isNumber()) {
            assertThat(actual).as(path).isNotNull();
            double scale = Math.max(1, Math.abs(expected.asDouble()));
            assertThat(actual.asDouble()).as(path).isCloseTo(expected.asDouble(), Offset.offset(1e-4 * scale));
            return Math.abs(actual.asDouble() - expected.asDouble()) / scale;
        }
        double worst = 0;
        int leaves = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); leaves++) {
            Map.Entry<String, JsonNode> field = it.next();
            assertThat(actual.has(field.getKey())).as(path + "/" + field.getKey()).isTrue();
            worst = Math.max(worst, compareTree(field.getValue(), actual.get(field.getKey()), path + "/" + field.getKey()));
        }
        assertThat(leaves).as(path).isPositive();
        return worst;
    }

    @Test
    void logitStatisticsAndTheirDirichletFitsMatchTheLibrarys() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> reference = Fixtures.readAll(EXTRA.resolve("logit_stats.safetensors"), manager);
            List<String> names = new ArrayList<>(evaluation.logitStats().keySet());
            assertThat(names).containsExactly("logit.layer_0", "logit.layer_1", "tuned.layer_0", "tuned.layer_1",
                    "baseline.final");
            for (String name : names) {
                LogitStats stats = evaluation.logitStats().get(name);
                assertThat(stats.n()).isEqualTo(reference.get(name + ".n").toLongArray()[0]).isEqualTo(36);
                float[] marginal = reference.get(name + ".marginal_probs").toFloatArray();
                double[] ours = stats.marginalProbs();
                double worstMarginal = 0;
                for (int v = 0; v < marginal.length; v++) {
                    worstMarginal = Math.max(worstMarginal, Math.abs(ours[v] - marginal[v]));
                }
                assertThat(worstMarginal).as(name).isLessThanOrEqualTo(1e-6);
                float[] sufficient = reference.get(name + ".sufficient_stats").toFloatArray();
                double[] oursSufficient = stats.sufficientStats();
                double scale = 1;
                double worstSufficient = 0;
                for (int v = 0; v < sufficient.length; v++) {
                    scale = Math.max(scale, Math.abs(sufficient[v]));
                    worstSufficient = Math.max(worstSufficient, Math.abs(oursSufficient[v] - sufficient[v]));
                }
                assertThat(worstSufficient).as(name).isLessThanOrEqualTo(1e-4 * scale);

                double libraryNll = reference.get(name + ".dirichlet_nll").toFloatArray()[0];
                double[] libraryAlpha = toDoubles(reference.get(name + ".dirichlet_alpha").toFloatArray());
                // The objective as written here, at the library's α, is the library's value (its float32 sums aside).
                assertThat(DirichletFit.objective(libraryAlpha, toDoubles(sufficient)))
                        .isCloseTo(libraryNll, Offset.offset(1e-5 * Math.abs(libraryNll)));
                DirichletFit fit = stats.fitDirichlet();
                System.out.printf("%s: marginal %.1e, sufficient %.1e; nll %.2f (library %.2f) in %d Newton steps%n",
                        name, worstMarginal, worstSufficient, fit.negativeLogLikelihood(), libraryNll, fit.iterations());
                assertThat(fit.negativeLogLikelihood()).as(name).isLessThanOrEqualTo(libraryNll + 1e-3 * Math.abs(libraryNll));
                assertThat(Arrays.stream(fit.alpha()).allMatch(a -> a > 0)).isTrue();
            }
        }
    }

    @Test
    void specialFunctionsHitKnownValues() {
        assertThat(SpecialFunctions.logGamma(0.5)).isCloseTo(0.5 * Math.log(Math.PI), Offset.offset(1e-13));
        assertThat(SpecialFunctions.logGamma(30)).isCloseTo(71.257038967168009, Offset.offset(1e-11));
        assertThat(SpecialFunctions.digamma(1)).isCloseTo(-0.57721566490153286, Offset.offset(1e-13));
        assertThat(SpecialFunctions.digamma(0.25)).isCloseTo(-Math.PI / 2 - 3 * Math.log(2) - 0.57721566490153286,
                Offset.offset(1e-12));
        assertThat(SpecialFunctions.trigamma(1)).isCloseTo(Math.PI * Math.PI / 6, Offset.offset(1e-12));
        assertThat(SpecialFunctions.trigamma(0.5)).isCloseTo(Math.PI * Math.PI / 2, Offset.offset(1e-11));
    }

    private static double[] toDoubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
