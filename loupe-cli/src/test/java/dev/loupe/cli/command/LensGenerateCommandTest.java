package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.longs;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe lens generate} against the plain decoding from each layer of the shared tuned lens,
 * {@code tuned.layer_{i}.no_cache_refeed} of testdata/lens_extra/generate.safetensors (README section e).
 */
class LensGenerateCommandTest {
    private static final Path LENS = Path.of("../testdata/lens");
    private static final Path EXTRA = Path.of("../testdata/lens_extra");

    @TempDir
    Path dir;

    @Test
    void generateFromEachLayerOfTheTunedLensIsThePlainDecode() {
        Path prompt = dir.resolve("prompt.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(prompt, Map.of("input_ids", manager.create(longs(EXTRA.resolve("generate.safetensors"),
                    "prompt"), new Shape(3, 6))));
        }
        for (int layer = 0; layer < 2; layer++) {
            Path out = dir.resolve("out" + layer + ".safetensors");
            CliTestSupport.Result result = run("lens", "generate", "--model", CliTestSupport.GPT2_TOK.toString(),
                    "--lens", LENS.toString(), "--layer", String.valueOf(layer), "--input", prompt.toString(),
                    "--max-new-tokens", "8", "--out", out.toString());
            assertThat(result.exitCode()).as(result.err()).isZero();
            assertThat(result.out()).contains("[0] ", "[2] ");
            assertThat(longs(out, "output_ids")).as("layer %d", layer).containsExactly(longs(
                    EXTRA.resolve("generate.safetensors"), "tuned.layer_" + layer + ".no_cache_refeed"));
        }
    }

    @Test
    void generateRefusesSamplingOptionsWithoutSample() {
        CliTestSupport.Result result = run("lens", "generate", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens",
                "logit", "--layer", "1", "--prompt", "Hello", "--seed", "3");
        assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
        assertThat(result.err()).contains("add --sample");
    }

    @Test
    void generateSharesTheUsageChecksOfLoupeGenerate() {
        String[] common = {"lens", "generate", "--model", CliTestSupport.GPT2_TOK.toString(), "--lens", "logit",
            "--layer", "1"};
        CliTestSupport.Result none = run(common);
        assertThat(none.exitCode()).as(none.err()).isEqualTo(2);
        assertThat(none.err()).contains("Missing the input: give --prompt TEXT");
        CliTestSupport.Result negative = run(concat(common, "--prompt", "Hello", "--max-new-tokens", "-1"));
        assertThat(negative.exitCode()).as(negative.err()).isEqualTo(2);
        assertThat(negative.err()).contains("--max-new-tokens must be ≥ 0, got -1");
    }

    private static String[] concat(String[] head, String... tail) {
        String[] all = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        return all;
    }
}
