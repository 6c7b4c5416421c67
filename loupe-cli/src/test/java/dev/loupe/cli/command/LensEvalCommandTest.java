package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.GPT2_TOK;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.lens.data.EnglishText;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe lens eval --input --units nats --layer-transfer --record-logit-stats} against the
 * library's eval/aggregate_metrics.json, eval/batches.jsonl and logit_stats.safetensors (testdata/lens_extra).
 */
class LensEvalCommandTest {
    static final Path EXTRA = Path.of("../testdata/lens_extra");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void tokenIdsGiveTheLibrarysMetricsBatchesAndLogitStatistics() throws IOException {
        Path out = dir.resolve("eval");
        CliTestSupport.Result result = run("lens", "eval", "--model", GPT2_TOK.toString(), "--lens", "../testdata/lens",
                "--input", EXTRA.resolve("inputs.safetensors").toString(), "--units", "nats", "--layer-transfer",
                "--record-logit-stats", "--output", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("36 tokens; nats per token").contains("logit_stats.safetensors");
        compare(JSON.readTree(EXTRA.resolve("eval/aggregate_metrics.json").toFile()),
                JSON.readTree(out.resolve("aggregate_metrics.json").toFile()), "");
        JsonNode batches = JSON.readTree(EXTRA.resolve("eval/batches.jsonl").toFile());
        JsonNode ours = JSON.readTree(out.resolve("batches.jsonl").toFile());
        assertThat(ours.size()).isEqualTo(batches.size()).isEqualTo(3);
        for (int b = 0; b < 3; b++) {
            compare(batches.get(b), ours.get(b), "batch " + b);
        }

        Path stats = out.resolve("logit_stats.safetensors");
        Path reference = EXTRA.resolve("logit_stats.safetensors");
        JsonNode marginalsJson = JSON.readTree(out.resolve("logit_stats.json").toFile());
        for (String name : new String[] {"logit.layer_0", "logit.layer_1", "tuned.layer_0", "tuned.layer_1",
            "baseline.final"}) {
            assertThat(CliTestSupport.longs(stats, name + ".n")).containsExactly(36);
            float[] marginal = CliTestSupport.floats(stats, name + ".marginal_probs");
            float[] expected = CliTestSupport.floats(reference, name + ".marginal_probs");
            JsonNode listed = marginalsJson.get(name.substring(0, name.indexOf('.'))).get("logit_stats")
                    .get(name.substring(name.indexOf('.') + 1));
            assertThat(listed.size()).isEqualTo(expected.length);
            for (int v = 0; v < expected.length; v += 97) {
                assertThat((double) marginal[v]).isCloseTo(expected[v], Offset.offset(1e-6));
                assertThat(listed.get(v).asDouble()).isCloseTo(marginal[v], Offset.offset(1e-7));
            }
            double nll = CliTestSupport.floats(stats, name + ".dirichlet_nll")[0];
            double libraryNll = CliTestSupport.floats(reference, name + ".dirichlet_nll")[0];
            assertThat(nll).as(name).isLessThanOrEqualTo(libraryNll + 1e-3 * Math.abs(libraryNll));
        }
    }

    private static void compare(JsonNode expected, JsonNode actual, String path) {
        if (expected.isNumber()) {
            double scale = Math.max(1, Math.abs(expected.asDouble()));
            assertThat(actual.asDouble()).as(path).isCloseTo(expected.asDouble(), Offset.offset(1e-4 * scale));
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> field = it.next();
            assertThat(actual.has(field.getKey())).as(path + "/" + field.getKey()).isTrue();
            compare(field.getValue(), actual.get(field.getKey()), path + "/" + field.getKey());
        }
    }

    @Test
    void textInNatsIsTextInBitsPerByteWithoutTheFactor() throws IOException {
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, EnglishText.generate(3_000, 7));
        JsonNode[] metrics = new JsonNode[2];
        String[] units = {"bpb", "nats"};
        for (int i = 0; i < 2; i++) {
            Path out = dir.resolve(units[i]);
            CliTestSupport.Result result = run("lens", "eval", "--model", GPT2_TOK.toString(), "--data", corpus.toString(),
                    "--units", units[i], "--max-seq-len", "32", "--tokens", "64", "--output", out.toString());
            assertThat(result.exitCode()).as(result.err()).isZero();
            metrics[i] = JSON.readTree(out.resolve("aggregate_metrics.json").toFile());
        }
        double factor = metrics[0].get("nats_to_bpb").asDouble();
        assertThat(factor).isNotEqualTo(1.0);
        assertThat(metrics[1].get("nats_to_bpb").asDouble()).isEqualTo(1.0);
        assertThat(metrics[0].at("/logit/kl/layer_1").asDouble())
                .isCloseTo(metrics[1].at("/logit/kl/layer_1").asDouble() * factor, Offset.offset(1e-9));
        assertThat(metrics[0].at("/baseline/ce/final").asDouble())
                .isCloseTo(metrics[1].at("/baseline/ce/final").asDouble() * factor, Offset.offset(1e-9));
    }

    @Test
    void dataMustBeTextOrTokenIdsAndTokenIdsHaveNoBytes() {
        Path out = dir.resolve("eval");
        String inputs = EXTRA.resolve("inputs.safetensors").toString();
        CliTestSupport.Result neither = run("lens", "eval", "--model", GPT2_TOK.toString(), "--output", out.toString());
        assertThat(neither.exitCode()).isEqualTo(2);
        assertThat(neither.err()).contains("one of the two");
        CliTestSupport.Result bytes = run("lens", "eval", "--model", GPT2_TOK.toString(), "--input", inputs,
                "--units", "bpb", "--output", out.toString());
        assertThat(bytes.exitCode()).isEqualTo(2);
        assertThat(bytes.err()).contains("token ids have no bytes");
        run("lens", "eval", "--model", GPT2_TOK.toString(), "--input", EXTRA.resolve("README.md").toString(),
                "--output", out.toString()).failedWithOneLine("README.md");
    }
}
