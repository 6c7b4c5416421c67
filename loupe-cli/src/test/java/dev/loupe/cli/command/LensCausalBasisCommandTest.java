package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.floats;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe lens causal-basis} against the tuned-lens library's causal bases in
 * testdata/lens_extra/causal.safetensors (README section d), and its refusals.
 */
class LensCausalBasisCommandTest {
    private static final Path LENS = Path.of("../testdata/lens");
    private static final Path EXTRA = Path.of("../testdata/lens_extra");
    private static final Path INPUTS = EXTRA.resolve("inputs.safetensors");

    @TempDir
    Path dir;

    @Test
    void causalBasisOfTheLogitLensReachesTheLibrarysTopEnergy() {
        Path out = dir.resolve("bases.safetensors");
        CliTestSupport.Result result = run("lens", "causal-basis", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens",
                "logit", "--input", INPUTS.toString(), "--k", "1", "--max-evaluations", "30", "--out", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Causal bases of the logit lens, K = 1, mean ablation", "Wrote 4 tensors",
                "model KL, basis removed", "model KL, random subspace removed");
        for (int layer = 0; layer < 2; layer++) {
            float[] vector = floats(out, "layer_" + layer + ".vectors");
            assertThat(vector).hasSize(32);
            double norm = 0;
            for (float v : vector) {
                norm += v * v;
            }
            assertThat(Math.sqrt(norm)).as("unit length").isCloseTo(1, offset(1e-4));
            float library = floats(EXTRA.resolve("causal.safetensors"), "layer_" + layer + ".energies")[0];
            assertThat(floats(out, "layer_" + layer + ".energies")[0]).as("layer %d's energy vs the library's %f", layer,
                    library).isGreaterThanOrEqualTo(0.98f * library);
        }
        try (SafetensorsFile file = SafetensorsFile.open(out)) {
            assertThat(file.info("layer_1.vectors").shape()).containsExactly(32, 1);
            assertThat(file.info("layer_1.energies").shape()).containsExactly(1);
        }
    }

    @Test
    void causalBasisRefusesAnUnknownMode() {
        CliTestSupport.Result result = run("lens", "causal-basis", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens",
                "logit", "--input", INPUTS.toString(), "--k", "1", "--mode", "resample", "--out",
                dir.resolve("b.safetensors").toString());
        assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
        assertThat(result.err()).contains("Unknown ablation mode 'resample'; use zero or mean");
    }

    @Test
    void neitherCommandWritesOverItsInputOrIntoTheLens() throws Exception {
        Path in = Files.copy(INPUTS, dir.resolve("in.safetensors"));
        CliTestSupport.Result basis = run("lens", "causal-basis", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens",
                "logit", "--input", in.toString(), "--k", "1", "--out", in.toString());
        assertThat(basis.exitCode()).as(basis.err()).isEqualTo(2);
        assertThat(basis.err()).contains("is the --input file");
        Path inLens = LENS.resolve("out.safetensors");
        CliTestSupport.Result generate = run("lens", "generate", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens",
                LENS.toString(), "--layer", "0", "--input", in.toString(), "--out", inLens.toString());
        assertThat(generate.exitCode()).as(generate.err()).isEqualTo(2);
        assertThat(generate.err()).contains("is inside the lens folder");
        assertThat(Files.readAllBytes(in)).isEqualTo(Files.readAllBytes(INPUTS));
        assertThat(inLens).doesNotExist();
    }
}
