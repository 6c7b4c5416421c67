package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.assertClose;
import static dev.loupe.cli.CliTestSupport.floats;
import static dev.loupe.cli.CliTestSupport.longs;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe lens apply|trajectory} against the Python tuned-lens library's reference outputs. */
class LensCommandTest {
    private static final Path LENS = Path.of("../testdata/lens");
    private static final Path REFERENCE = LENS.resolve("reference.safetensors");
    /** Lens logits, residuals and hidden states (testdata/FIXTURES.md, "Tolerances"). */
    private static final double ATOL = 1e-4;
    /** KL values. */
    private static final double KL_ATOL = 1e-5;

    @TempDir
    Path dir;

    @Test
    void applyWritesEveryReferenceTensorWithinTolerance() {
        Path in = dir.resolve("in.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(in, Map.of("input_ids", manager.create(longs(REFERENCE, "input_ids"),
                    new ai.djl.ndarray.types.Shape(1, 6))));
        }
        Path out = dir.resolve("out.safetensors");
        CliTestSupport.Result result = run("lens", "apply", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens",
                LENS.toString(), "--input", in.toString(), "--out", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Wrote 13 tensors", "logit lens  tuned lens", "0          2.2998      1.5421");
        assertMatchesReference(out);
    }

    @Test
    void applyTokenizesAPromptAsThePythonReferenceDid() {
        Path out = dir.resolve("out.safetensors");
        CliTestSupport.Result result = run("lens", "apply", "--model", CliTestSupport.GPT2_TOK.toString(), "-l",
                LENS.toString(), "--prompt", "Paris is the capital of", "--output", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(longs(out, "input_ids")).containsExactly(longs(REFERENCE, "input_ids"));
        assertMatchesReference(out);
    }

    @Test
    void applyOnAPaddedBatchWritesTheMaskAndZeroKlAtPadding() {
        Path out = dir.resolve("out.safetensors");
        CliTestSupport.Result result = run("lens", "apply", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens",
                LENS.toString(), "--prompt", "Paris is the capital of", "--prompt", "Hi", "--out", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        long[] mask = longs(out, "attention_mask");
        assertThat(mask).containsExactly(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0);
        float[] kl = floats(out, "kl_tuned_lens"); // [layer, batch, pos]
        float[] reference = floats(REFERENCE, "kl_tuned_lens");
        for (int layer = 0; layer < 2; layer++) {
            for (int p = 0; p < 6; p++) {
                assertThat((double) kl[layer * 12 + p]).isCloseTo(reference[layer * 6 + p],
                        org.assertj.core.data.Offset.offset(KL_ATOL));
                assertThat(kl[layer * 12 + 6 + p]).isEqualTo(p < 2 ? kl[layer * 12 + 6 + p] : 0f);
            }
            assertThat(kl[layer * 12 + 6]).isPositive();
        }
    }

    @Test
    void trajectoryPrintsTheTableAndWritesTheExport() throws IOException {
        Path json = dir.resolve("t.json");
        CliTestSupport.Result result = run("lens", "trajectory", "--model", CliTestSupport.GPT2_TOK.toString(),
                "--lens", LENS.toString(), "--prompt", "Paris is the capital of", "--target", " Paris", "--output",
                json.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).startsWith("Tuned lens: top-1 prediction").contains("<|endoftext|>", " capital",
                "output", "KL(output ‖ layer)", "Rank of the target token 6342", "Wrote the trajectory to");
        JsonNode trajectory = new ObjectMapper().readTree(json.toFile());
        assertThat(trajectory.get("layers")).hasSize(3);
        assertThat(trajectory.get("target").asLong()).isEqualTo(6342);
        float[] kl = floats(REFERENCE, "kl_tuned_lens");
        assertThat((double) trajectory.get("kl_to_final").get(1).get(5).floatValue())
                .isCloseTo(kl[6 + 5], org.assertj.core.data.Offset.offset(KL_ATOL));

        CliTestSupport.Result logit = run("lens", "trajectory", "--model", CliTestSupport.GPT2_TOK.toString(),
                "--prompt", "Paris is the capital of");
        assertThat(logit.exitCode()).as(logit.err()).isZero();
        assertThat(logit.out()).startsWith("Logit lens: top-1 prediction").doesNotContain("Rank of the target");
    }

    @Test
    void mismatchesAndBadInputFailWithOneLine() {
        run("lens", "apply", "--model", "../testdata/models/gpt_neox", "--lens", LENS.toString(), "--input",
                REFERENCE.toString(), "--out", dir.resolve("x.safetensors").toString())
                .failedWithOneLine("d_model 32 but the model 'gpt_neox' has d_model 64");
        run("lens", "apply", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens", dir.resolve("nope").toString(),
                "--prompt", "Hi", "--out", dir.resolve("x.safetensors").toString()).failedWithOneLine("does not exist");
        run("lens", "trajectory", "--model", CliTestSupport.GPT2_TOK.toString(), "--prompt", "Hi", "--target",
                " Paris is").failedWithOneLine("Paris");
        assertThat(run("lens", "apply", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens", LENS.toString(),
                "--out", dir.resolve("x.safetensors").toString()).exitCode()).isEqualTo(2);
        assertThat(run("lens").exitCode()).isEqualTo(2);
        assertThat(dir.resolve("x.safetensors")).doesNotExist();
    }

    @Test
    void helpDescribesTheCommands() {
        CliTestSupport.Result lens = run("lens", "--help");
        assertThat(lens.exitCode()).isZero();
        assertThat(lens.out()).contains("apply", "trajectory", "train", "eval", "params.pt");
        assertThat(run("--help").out()).contains("lens");
        assertThat(run("lens", "apply", "--help").out()).contains("--model=MODEL", "--lens=LENS", "--output",
                "--prompt=TEXT", "--input=IN", "kl_tuned_lens", "safetensors.numpy import load_file");
        assertThat(run("lens", "trajectory", "--help").out()).contains("--target=TOKEN", "--lens=LENS", "--top-k");
    }

    /** Every tensor of the fixture's reference.safetensors, at its tolerance. */
    private static void assertMatchesReference(Path out) {
        try (SafetensorsFile reference = SafetensorsFile.open(REFERENCE)) {
            for (String name : reference.names()) {
                if (name.equals("input_ids")) {
                    assertThat(longs(out, name)).containsExactly(longs(REFERENCE, name));
                } else {
                    assertClose(name, floats(out, name), floats(REFERENCE, name), name.startsWith("kl_") ? KL_ATOL : ATOL);
                }
            }
        }
    }
}
