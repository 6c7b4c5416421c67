package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.eval.SaeEvalOptions;
import dev.loupe.sae.eval.SaeEvaluation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code loupe sae evals} on SAELens fixtures: every metric of OUT against the fixture's reference.json
 * {@code evals} within 1e-4 relative (ce_loss_score: 1e-4·max(1, |ref|)), as loupe-sae's SaeEvaluationTest, and its
 * {@code feature_metrics} against {@code evals_feature.*} (1e-4·max(1, |ref|), NaN written as -1); {@code --batch-size},
 * {@code --batches} and {@code --exclude-special-tokens} give exactly what the library gives for the same options.
 */
class SaeEvalsCommandTest {
    private static final Path GPT2 = Path.of("../testdata/models/gpt2");
    private static final Path SAE = Path.of("../testdata/sae");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2/standard_resid_pre_l0", "gpt2/jumprelu_z_l0"})
    void everyMetricMatchesSaeLensRunEvals(String entry) throws Exception {
        Path in = tmp.resolve("in.safetensors");
        try (SafetensorsFile ref = SafetensorsFile.open(SAE.resolve(entry).resolve("reference.safetensors"));
             NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(in, Map.of("input_ids", ref.load("input_ids", manager)));
        }
        Path out = tmp.resolve("evals.json");
        CliTestSupport.Result result = run("sae", "evals", "--model", GPT2.toString(), "--sae",
                SAE.resolve(entry).toString(), "--input", in.toString(), "--out", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("sparsity.l0 = ").contains("Wrote ");
        ObjectMapper mapper = new ObjectMapper();
        JsonNode actual = mapper.readTree(out.toFile());
        JsonNode expected = mapper.readTree(SAE.resolve(entry).resolve("reference.json").toFile()).path("evals");
        List<String> groups = new ArrayList<>(names(expected));
        groups.add("feature_metrics");
        assertThat(names(actual)).containsExactlyInAnyOrderElementsOf(groups);
        List<String> failures = new ArrayList<>();
        for (String group : names(expected)) {
            assertThat(names(actual.path(group))).as(group).containsExactlyInAnyOrderElementsOf(names(expected.path(group)));
            for (String metric : names(expected.path(group))) {
                double ref = expected.path(group).path(metric).asDouble();
                double got = actual.path(group).path(metric).asDouble();
                double diff = Math.abs(got - ref);
                double tol = 1e-4 * (metric.equals("ce_loss_score") ? Math.max(1, Math.abs(ref)) : Math.abs(ref));
                System.out.printf("sae evals %s %s.%s: |diff| %.3g (tol %.3g)%n", entry, group, metric, diff, tol);
                if (!(diff <= tol)) {
                    failures.add(group + "." + metric + " = " + got + ", SAELens " + ref);
                }
            }
        }
        assertThat(failures).as(entry).isEmpty();

        // run_evals's per-feature metrics, SAELens's names, NaN (a feature that never fires) as -1.
        try (SafetensorsFile ref = SafetensorsFile.open(SAE.resolve(entry).resolve("reference.safetensors"));
             NDManager manager = NDManager.newBaseManager()) {
            JsonNode features = actual.path("feature_metrics");
            List<String> stored = ref.names().stream().filter(n -> n.startsWith("evals_feature."))
                    .map(n -> n.substring("evals_feature.".length())).toList();
            assertThat(names(features)).containsExactlyInAnyOrderElementsOf(stored);
            for (String metric : stored) {
                float[] want = ref.load("evals_feature." + metric, manager).toFloatArray();
                JsonNode got = features.path(metric);
                assertThat(got.size()).as(metric).isEqualTo(want.length);
                for (int f = 0; f < want.length; f++) {
                    double w = Float.isNaN(want[f]) ? -1 : want[f];
                    assertThat(Math.abs(got.get(f).asDouble() - w)).as(metric + "[" + f + "]")
                            .isLessThanOrEqualTo(1e-4 * Math.max(1, Math.abs(w)));
                }
            }
        }
    }

    @Test
    void batchesAndBatchSizeAverageAsTheLibraryDoes() throws Exception {
        String entry = "gpt2/standard_resid_pre_l0";
        Path in = tmp.resolve("in.safetensors");
        Path out = tmp.resolve("evals.json");
        try (SafetensorsFile ref = SafetensorsFile.open(SAE.resolve(entry).resolve("reference.safetensors"));
             NDManager manager = NDManager.newBaseManager();
             HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(GPT2);
             Sae sae = Sae.load(SAE.resolve(entry), manager)) {
            NDArray ids = ref.load("input_ids", manager);
            SafetensorsWriter.write(in, Map.of("input_ids", ids));
            CliTestSupport.Result result = run("sae", "evals", "--model", GPT2.toString(), "--sae",
                    SAE.resolve(entry).toString(), "--input", in.toString(), "--out", out.toString(),
                    "--batch-size", "1", "--batches", "2");
            assertThat(result.exitCode()).as(result.err()).isZero();
            Map<String, Map<String, Double>> expected = SaeEvaluation.evaluate(model, sae, ids, SaeEvalOptions.of(1, 2))
                    .asMap();
            Map<String, Map<String, Double>> oneBatch = SaeEvaluation.evaluate(model, sae, ids).asMap();
            JsonNode actual = new ObjectMapper().readTree(out.toFile());
            assertSame(actual, expected);
            assertThat(actual.path("sparsity").path("l0").asDouble()).isEqualTo(oneBatch.get("sparsity").get("l0"));
            assertThat(actual.path("reconstruction_quality").path("mse").asDouble())
                    .isNotEqualTo(oneBatch.get("reconstruction_quality").get("mse")); // per-batch token counts differ
            assertThat(actual.path("token_stats").path("total_tokens_eval_reconstruction").asDouble()).isEqualTo(32);

            CliTestSupport.Result tooMany = run("sae", "evals", "--model", GPT2.toString(), "--sae",
                    SAE.resolve(entry).toString(), "--input", in.toString(), "--out", tmp.resolve("x.json").toString(),
                    "--batch-size", "2", "--batches", "2");
            assertThat(tooMany.exitCode()).isNotZero();
            assertThat(tooMany.err()).contains("needs 4 prompts");
        }
    }

    @Test
    void excludedSpecialTokensLeaveTheStatistics() throws Exception {
        String entry = "gpt2/standard_resid_pre_l0";
        Path tokenizerModel = Path.of("../testdata/models/gpt2-tok"); // d_model 32 as the SAE, with a tokenizer
        Path in = tmp.resolve("in.safetensors");
        Path out = tmp.resolve("evals.json");
        try (SafetensorsFile ref = SafetensorsFile.open(SAE.resolve(entry).resolve("reference.safetensors"));
             NDManager manager = NDManager.newBaseManager();
             HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(tokenizerModel);
             Sae sae = Sae.load(SAE.resolve(entry), manager)) {
            long eos = model.tokenizer().eosId();
            NDArray ids = ref.load("input_ids", manager);
            ids.set(new NDIndex(":, 0"), eos);
            ids.set(new NDIndex("1, 9"), eos);
            SafetensorsWriter.write(in, Map.of("input_ids", ids));
            CliTestSupport.Result result = run("sae", "evals", "--model", tokenizerModel.toString(), "--sae",
                    SAE.resolve(entry).toString(), "--input", in.toString(), "--out", out.toString(),
                    "--exclude-special-tokens");
            assertThat(result.exitCode()).as(result.err()).isZero();
            SaeEvalOptions excluding = SaeEvalOptions.of(2, 1).excluding(SaeEvalOptions.specialTokenIds(model.tokenizer()));
            assertThat(excluding.excludedTokens()).contains(eos);
            JsonNode actual = new ObjectMapper().readTree(out.toFile());
            assertSame(actual, SaeEvaluation.evaluate(model, sae, ids, excluding).asMap());
            double all = SaeEvaluation.evaluate(model, sae, ids).sparsity().l0();
            assertThat(actual.path("sparsity").path("l0").asDouble()).isNotEqualTo(all);

            CliTestSupport.Result noTokenizer = run("sae", "evals", "--model", GPT2.toString(), "--sae",
                    SAE.resolve(entry).toString(), "--input", in.toString(), "--out", tmp.resolve("y.json").toString(),
                    "--exclude-special-tokens");
            assertThat(noTokenizer.exitCode()).isNotZero();
            assertThat(noTokenizer.err()).contains("needs the model's tokenizer");
        }
    }

    private static void assertSame(JsonNode actual, Map<String, Map<String, Double>> expected) {
        for (Map.Entry<String, Map<String, Double>> group : expected.entrySet()) {
            for (Map.Entry<String, Double> metric : group.getValue().entrySet()) {
                assertThat(actual.path(group.getKey()).path(metric.getKey()).asDouble())
                        .as(group.getKey() + "." + metric.getKey()).isEqualTo(metric.getValue());
            }
        }
    }

    private static List<String> names(JsonNode node) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            names.add(it.next());
        }
        return names;
    }
}
