package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.lens.data.EnglishText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The commands that take text (demo, view, lens, generate and cache with {@code --prompt}) on the second wave's tiny
 * fixture models, which come without a tokenizer: each gets a byte-level tokenizer whose 256 byte tokens
 * and {@code <|endoftext|>} fit their 512-token vocabulary.
 */
class TextCommandsEveryArchitectureTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3_text", "qwen3", "phi3", "olmo2", "mixtral"})
    void everyTextCommandRuns(String arch) throws IOException {
        Path model = withByteTokenizer(arch);
        String prompt = "The quick brown fox";

        CliTestSupport.Result demo = run("demo", "--model", model.toString(), "--prompt", prompt, "--out-dir",
                tmp.resolve("demo").toString());
        assertThat(demo.exitCode()).as(demo.err()).isZero();
        assertThat(demo.out()).contains("Logit lens");

        for (String view : List.of("attention", "trajectory")) {
            CliTestSupport.Result page = run("view", view, "--model", model.toString(), "--prompt", prompt, "--out",
                    tmp.resolve(view + ".html").toString());
            assertThat(page.exitCode()).as(view + ": " + page.err()).isZero();
        }
        CliTestSupport.Result patching = run("view", "patching", "--model", model.toString(), "--prompt", prompt,
                "--corrupted", "The quick brown cat", "--out", tmp.resolve("patching.html").toString());
        assertThat(patching.exitCode()).as(patching.err()).isZero();

        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, EnglishText.generate(8_000, 5));
        Path lens = tmp.resolve("lens");
        CliTestSupport.Result train = run("lens", "train", "--model", model.toString(), "--data", corpus.toString(),
                "--output", lens.toString(), "--max-seq-len", "32", "--tokens-per-step", "64", "--num-steps", "2",
                "--per-gpu-batch-size", "2");
        assertThat(train.exitCode()).as(train.err()).isZero();
        CliTestSupport.Result eval = run("lens", "eval", "--model", model.toString(), "--data", corpus.toString(),
                "--lens", lens.toString(), "--output", tmp.resolve("eval").toString(), "--max-seq-len", "32",
                "--tokens", "128");
        assertThat(eval.exitCode()).as(eval.err()).isZero();
        CliTestSupport.Result apply = run("lens", "apply", "--model", model.toString(), "--lens", lens.toString(),
                "--prompt", prompt, "--out", tmp.resolve("lens.safetensors").toString());
        assertThat(apply.exitCode()).as(apply.err()).isZero();
        CliTestSupport.Result trajectory = run("lens", "trajectory", "--model", model.toString(), "--lens",
                lens.toString(), "--prompt", prompt);
        assertThat(trajectory.exitCode()).as(trajectory.err()).isZero();

        CliTestSupport.Result generate = run("generate", "--model", model.toString(), "--prompt", prompt,
                "--max-new-tokens", "4");
        assertThat(generate.exitCode()).as(generate.err()).isZero();
        assertThat(generate.out()).startsWith(prompt);
        CliTestSupport.Result cache = run("cache", "--model", model.toString(), "--prompt", prompt, "--prompt", "Hi",
                "--out", tmp.resolve("cache.safetensors").toString());
        assertThat(cache.exitCode()).as(cache.err()).isZero();
    }

    /** A copy of the fixture model with a byte-level BPE tokenizer (no merges) as vocab.json + merges.txt. */
    private Path withByteTokenizer(String arch) throws IOException {
        Path source = Path.of("..", "testdata", "models", arch);
        Path dir = tmp.resolve(arch);
        Files.createDirectories(dir);
        for (String file : List.of("config.json", "generation_config.json", "model.safetensors")) {
            Files.copy(source.resolve(file), dir.resolve(file));
        }
        List<String> entries = new ArrayList<>();
        int[] byteToChar = bytesToUnicode();
        for (int b = 0; b < 256; b++) {
            entries.add(quote(new String(Character.toChars(byteToChar[b]))) + ": " + b);
        }
        entries.add("\"<|endoftext|>\": 256");
        Files.writeString(dir.resolve("vocab.json"), "{" + String.join(", ", entries) + "}", StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n", StandardCharsets.UTF_8);
        return dir;
    }

    /** GPT-2's printable stand-in for each byte. */
    private static int[] bytesToUnicode() {
        int[] map = new int[256];
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? b : 256 + extra++;
        }
        return map;
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
