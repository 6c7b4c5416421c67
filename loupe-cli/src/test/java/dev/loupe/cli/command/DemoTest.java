package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.GPT2;
import static dev.loupe.cli.CliTestSupport.GPT2_TOK;
import static dev.loupe.cli.CliTestSupport.floats;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.cli.demo.DemoReport;
import dev.loupe.cli.demo.LogitLensTable;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DemoTest extends RepositoryHomeTest {
    private static final Path REFERENCE = GPT2_TOK.resolve("reference.safetensors");
    private static final int VOCAB = 50257;
    private static final int D_MODEL = 32;

    @Test
    void demoPrintsPredictionsAndTheLogitLens() {
        CliTestSupport.Result result = run("demo", "--model", GPT2_TOK.toString());

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.err()).isEmpty();
        String out = result.out();
        assertThat(out).contains("gpt2-tok", "2 layers, d_model 32, 4 heads", "vocabulary 50257", "RANDOM",
                "meaningless", "Prompt     \"The quick brown fox jumps over the lazy dog.\"",
                "Token ids  50256 464 2068 7586 21831 18045 625 262 16931 3290 13  (11 tokens)",
                "Top 5 next-token predictions after the last token (13 \".\")", "Logit lens");
        assertThat(out.lines().filter(l -> l.startsWith("Tokens ")).toList()).containsExactly(
                "Tokens     <|endoftext|> | The | ␣quick | ␣brown | ␣fox | ␣jumps | ␣over | ␣the | ␣lazy | ␣dog | .");
        assertThat(out).doesNotContain("\u001b[", "not implemented", "=== Prompt").doesNotContainPattern("#\\d");
        // The model's top prediction is Hugging Face's (prompt p1 of the reference is the same sentence).
        float[] logits = floats(REFERENCE, "p1.logits");
        float[] last = java.util.Arrays.copyOfRange(logits, 10 * VOCAB, 11 * VOCAB);
        int expectedTop = LogitLensTable.topK(last, 1)[0];
        assertThat(out).containsPattern("(?m)^ +1 +" + expectedTop + " ");
        assertThat(out).containsPattern("(?m)^ +0 +blocks\\.0\\.hook_resid_pre +\\d+ ")
                .containsPattern("(?m)^ +1 +blocks\\.1\\.hook_resid_pre +\\d+ ")
                .containsPattern("(?m)^ +2 +blocks\\.1\\.hook_resid_post +" + expectedTop + " ");
    }

    @Test
    void demoShowsATunedLensWhenOneIsGiven(@org.junit.jupiter.api.io.TempDir java.nio.file.Path outDir)
            throws java.io.IOException {
        CliTestSupport.Result result = run("demo", "--model", GPT2_TOK.toString(), "--lens", "../testdata/lens",
                "--out-dir", outDir.toString());

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Tuned lens ../testdata/lens:", "Tuned lens: top-1 prediction");
        String page = java.nio.file.Files.readString(outDir.resolve(DemoReport.FILE_NAME));
        assertThat(page).contains("tuned lens", "logit lens");
    }

    @Test
    void demoShowsEachPromptInItsOwnSection() {
        CliTestSupport.Result result = run("demo", "--model", GPT2_TOK.toString(), "--prompt", "Hello, world!",
                "--prompt", "I can't wait!");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.err()).isEmpty();
        String out = result.out();
        assertThat(count(out, "Model      ")).isEqualTo(1);
        assertThat(count(out, "RANDOM")).isEqualTo(1);
        assertThat(count(out, "Top 5 next-token predictions")).isEqualTo(2);
        assertThat(count(out, "Logit lens at the last position")).isEqualTo(2);
        assertThat(out).contains("=== Prompt 1 of 2 ===", "=== Prompt 2 of 2 ===", "Prompt     \"Hello, world!\"",
                "Tokens     <|endoftext|> | Hello | , | ␣world | !", "Prompt     \"I can't wait!\"",
                "Tokens     <|endoftext|> | I | ␣can | 't | ␣wait | !");
        assertThat(out.indexOf("=== Prompt 2 of 2 ===")).isGreaterThan(out.indexOf("Logit lens at the last position"));

        // Each prompt runs on its own: its section is exactly what it prints alone.
        String alone = run("demo", "--model", GPT2_TOK.toString(), "--prompt", "Hello, world!").out();
        String section = alone.substring(alone.indexOf("Prompt     "), alone.indexOf("Next: "));
        assertThat(out).contains(section);
    }

    @Test
    void demoTakesTokenIdsAndOtherModels() {
        CliTestSupport.Result result = run("demo", "--model", GPT2.toString(), "--tokens", "1,2,3", "--top", "3");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.err()).isEmpty();
        assertThat(result.out()).contains("Input      3 token ids (--tokens)", "Token ids  1 2 3  (3 tokens)",
                "Top 3 next-token predictions after the last token (#3)", "RANDOM")
                .containsPattern("(?m)^ +1 +\\d+ +#\\d+ ")
                .doesNotContain("Tokens ", "Prompt ");

        // With a tokenizer, token ids are shown as tokens too.
        CliTestSupport.Result named = run("demo", "--model", GPT2_TOK.toString(), "--tokens", "50256,464,2068");
        assertThat(named.exitCode()).as(named.err()).isZero();
        assertThat(named.out()).contains("Tokens     <|endoftext|> | The | ␣quick", "(2068 \"␣quick\")");

        run("demo", "--model", GPT2_TOK.toString(), "--tokens", "1,99999").failedWithOneLine("99999");
        assertThat(run("demo", "--tokens", "a,b").exitCode()).isEqualTo(2);
        assertThat(run("demo", "--top", "0").exitCode()).isEqualTo(2);
        CliTestSupport.Result both = run("demo", "--prompt", "Hi", "--tokens", "1");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("--prompt and --tokens are mutually exclusive");
        run("demo", "--model", "no/such/model").failedWithOneLine("no/such/model");
    }

    @Test
    void promptsNeedATokenizer() {
        run("demo", "--model", GPT2.toString(), "--prompt", "Hi")
                .failedWithOneLine("--prompt needs the model's tokenizer, but ")
                .failedWithOneLine("tokenizer.json")
                .failedWithOneLine("--tokens IDS");
        // Without a tokenizer and without --prompt, the demo shows the induction section alone.
        CliTestSupport.Result noText = run("demo", "--model", GPT2.toString());
        assertThat(noText.exitCode()).as(noText.err()).isZero();
        assertThat(noText.out()).contains("Induction: BOS, 31 random tokens", "Loss on the repeated half")
                .doesNotContain("Prompt ", "Top 5 next-token predictions");
    }

    @Test
    void demoWithoutItsModelSaysWhy() {
        System.setProperty("loupe.home", "/nonexistent-loupe-home");
        run("demo").failedWithOneLine("the demo model /nonexistent-loupe-home/models/induction-2l is missing");
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
            n++;
        }
        return n;
    }
}
