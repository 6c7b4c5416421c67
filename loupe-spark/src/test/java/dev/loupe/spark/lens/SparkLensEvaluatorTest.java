package dev.loupe.spark.lens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.lens.TunedLens;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.lens.eval.LensEvalOptions;
import dev.loupe.lens.eval.LensEvaluator;
import dev.loupe.lens.eval.LensMetrics;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ModelSpec;
import dev.loupe.spark.SparkTesting;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Lens evaluation on Spark writes the single-machine evaluator's aggregate_metrics.json. */
class SparkLensEvaluatorTest {
    private static final ModelSpec MODEL = new ModelSpec(Fixtures.model("gpt2-tok").toString(), false);
    private static final Path LENS = Fixtures.ROOT.resolve("lens");

    @Test
    void metricsEqualTheSingleMachineEvaluator() {
        LensEvalOptions options = LensEvalOptions.defaults().withMaxSeqLen(32).withPerGpuBatchSize(3);
        try (HookedTransformer model = MODEL.load(); TunedLens lens = TunedLens.load(LENS, model)) {
            TokenChunks data = TokenChunks.of(EnglishText.documents(3_000, 2), model.tokenizer(), 32);
            LensMetrics single = LensEvaluator.evaluate(model, lens, data, options);
            LensMetrics spark = SparkLensEvaluator.evaluate(SparkTesting.session(), MODEL, LENS.toString(), data, options, 3);
            double worst = largestDifference(single.toJson(), spark.toJson());
            System.out.println("SparkLensEvaluatorTest: largest difference to LensEvaluator " + worst);
            assertThat(worst).isCloseTo(0, within(1e-5));
            assertThat(spark.tokens()).isEqualTo(single.tokens());
        }
    }

    @SuppressWarnings("unchecked")
    private static double largestDifference(Map<String, Object> a, Map<String, Object> b) {
        assertThat(b.keySet()).isEqualTo(a.keySet());
        double worst = 0;
        for (Map.Entry<String, Object> entry : a.entrySet()) {
            Object other = b.get(entry.getKey());
            if (entry.getValue() instanceof Map<?, ?> map) {
                worst = Math.max(worst, largestDifference((Map<String, Object>) map, (Map<String, Object>) other));
            } else {
                worst = Math.max(worst, Math.abs(((Number) entry.getValue()).doubleValue() - ((Number) other).doubleValue()));
            }
        }
        return worst;
    }
}
