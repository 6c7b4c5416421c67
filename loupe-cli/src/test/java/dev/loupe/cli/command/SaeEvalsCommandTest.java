package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code loupe sae evals} on SAELens fixtures: every metric of OUT against the fixture's reference.json
 * {@code evals} within 1e-4 relative (ce_loss_score: 1e-4·max(1, |ref|)), as loupe-sae's SaeEvaluationTest.
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
        assertThat(names(actual)).containsExactlyInAnyOrderElementsOf(names(expected));
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
    }

    private static List<String> names(JsonNode node) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            names.add(it.next());
        }
        return names;
    }
}
