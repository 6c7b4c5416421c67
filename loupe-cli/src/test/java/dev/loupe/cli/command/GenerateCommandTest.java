package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.GPT2_TOK;
import static dev.loupe.cli.CliTestSupport.longs;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code loupe generate}: greedy parity with Hugging Face through files, streaming, batches and usage errors. */
class GenerateCommandTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt_neox", "llama", "gpt_neo", "gptj", "opt", "mistral", "qwen2", "gemma", "phi",
        "bloom", "gemma2", "gemma3_text", "qwen3", "olmo2", "phi3", "mixtral"})
    void greedyTokensThroughFilesEqualHuggingFaces(String arch) {
        Path model = Path.of("../testdata/models").resolve(arch);
        Path in = dir.resolve("in.safetensors");
        long[] expected;
        try (SafetensorsFile reference = SafetensorsFile.open(model.resolve("reference.safetensors"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray prompt = reference.load("input_ids", manager).get(":, 0:6");
            SafetensorsWriter.write(in, Map.of("input_ids", prompt));
            expected = reference.load("greedy_tokens", manager).toLongArray();
        }
        for (String cache : new String[] {"--no-processing", "--no-kv-cache"}) {
            Path out = dir.resolve("out.safetensors");
            CliTestSupport.Result result = run("generate", "--model", model.toString(), "--input", in.toString(),
                    "--max-new-tokens", "8", cache, "--no-stop-at-eos", "--out", out.toString());
            assertThat(result.exitCode()).as(result.err()).isZero();
            assertThat(longs(out, "output_ids")).as(arch + " " + cache).containsExactly(expected);
        }
    }

    @Test
    void oneTextPromptIsStreamedAndABatchPrintsEachRow() {
        CliTestSupport.Result one = run("generate", "--model", GPT2_TOK.toString(), "--prompt", "Hello, world",
                "--max-new-tokens", "4", "--no-stop-at-eos");
        assertThat(one.exitCode()).as(one.err()).isZero();
        assertThat(one.out()).startsWith("Hello, world").hasLineCount(1);
        assertThat(one.err()).contains("4 new tokens per row");

        Path out = dir.resolve("batch.safetensors");
        CliTestSupport.Result batch = run("generate", "--model", GPT2_TOK.toString(), "--prompt", "Hello, world",
                "--prompt", "The quick brown fox jumps", "--max-new-tokens", "4", "--no-stop-at-eos",
                "--out", out.toString());
        assertThat(batch.exitCode()).as(batch.err()).isZero();
        assertThat(batch.out().lines().toList()).hasSize(2);
        assertThat(batch.out().lines().toList().get(0)).startsWith("[0] ").contains("Hello, world");
        assertThat(batch.out().lines().toList().get(1)).startsWith("[1] ").contains("The quick brown fox jumps");
        // The streamed single prompt and the same prompt in a left-padded batch continue identically.
        assertThat(batch.out().lines().toList().get(0)).isEqualTo("[0] " + one.out().strip());
        long[] mask = longs(out, "attention_mask");
        assertThat(mask[0]).as("the shorter prompt is padded on the left").isZero();
    }

    @Test
    void seededSamplingRepeatsAndSamplingOptionsNeedSample() {
        String[] args = {"generate", "--model", GPT2_TOK.toString(), "--prompt", "Once upon a time", "--sample",
            "--temperature", "1.5", "--top-p", "0.95", "--seed", "3", "--max-new-tokens", "6", "--no-stop-at-eos"};
        CliTestSupport.Result first = run(args);
        CliTestSupport.Result again = run(args);
        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(again.out()).isEqualTo(first.out());

        CliTestSupport.Result wrong = run("generate", "--model", GPT2_TOK.toString(), "--prompt", "Hi", "--top-k", "5");
        assertThat(wrong.exitCode()).isEqualTo(2);
        assertThat(wrong.err()).contains("--top-k applies to sampling only: add --sample");
        CliTestSupport.Result both = run("generate", "--model", GPT2_TOK.toString());
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("Missing the input");
    }

    @Test
    void aModelWithoutAnEndOfSequenceTokenNamesTheFlagThatGoesOn() {
        CliTestSupport.Result result = run("generate", "--model", CliTestSupport.GPT2.toString(), "--input",
                CliTestSupport.GPT2_REFERENCE.toString(), "--max-new-tokens", "2");
        assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
        assertThat(result.err()).contains("add --no-stop-at-eos").doesNotContain("GenerateOptions", "stopAtEos");
    }

    /**
     * Issue 19, item 8: --max-new-tokens 2147483647 ended in NegativeArraySizeException and 2000000000 in
     * OutOfMemoryError; the prompt and the new tokens must fit n_ctx, and the message names both numbers.
     */
    @Test
    void moreNewTokensThanTheContextHoldsAreAUsageError() {
        Path in = CliTestSupport.GPT2_REFERENCE; // input_ids [2, 16]; the model's n_ctx is 128
        for (String tooMany : new String[] {"2147483647", "2000000000", "113"}) {
            CliTestSupport.Result result = run("generate", "--model", CliTestSupport.GPT2.toString(), "--input",
                    in.toString(), "--no-stop-at-eos", "--max-new-tokens", tooMany);
            assertThat(result.exitCode()).as(result.err()).isEqualTo(2);
            assertThat(result.err()).contains("--max-new-tokens " + tooMany + " and the prompt's 16 tokens make "
                    + (16 + Long.parseLong(tooMany)) + " positions, more than the model's context (n_ctx 128): give"
                    + " --max-new-tokens 112 or fewer").doesNotContain("Exception");
        }
        CliTestSupport.Result fits = run("generate", "--model", CliTestSupport.GPT2.toString(), "--input",
                in.toString(), "--no-stop-at-eos", "--max-new-tokens", "112", "--out", dir.resolve("out.safetensors")
                        .toString());
        assertThat(fits.exitCode()).as(fits.err()).isZero();
        assertThat(longs(dir.resolve("out.safetensors"), "output_ids")).hasSize(2 * 128);
        CliTestSupport.Result notAnInt = run("generate", "--model", CliTestSupport.GPT2.toString(), "--input",
                in.toString(), "--max-new-tokens", "2e9");
        assertThat(notAnInt.exitCode()).isEqualTo(2);
        assertThat(notAnInt.err()).contains("'2e9' is not an int");
    }
}
