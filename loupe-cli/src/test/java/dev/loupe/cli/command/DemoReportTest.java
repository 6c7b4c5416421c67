package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoReportTest extends RepositoryHomeTest {
    @TempDir
    Path dir;

    @Test
    void demoWritesItsPageIntoOutDirAndSaysWhere() throws Exception {
        Path out = dir.resolve("new/folder");
        CliTestSupport.Result result = run("demo", "--model", CliTestSupport.GPT2_TOK.toString(), "--prompt",
                "Hello, world!", "--prompt", "I can't wait!", "--out-dir", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        Path page = out.resolve("loupe-demo.html").toAbsolutePath();
        assertThat(result.out()).contains("Report     " + page + " (attention patterns");
        String html = Files.readString(page);
        // The repeated random sequence of the induction table, then each prompt.
        assertThat(count(html, "data-kind=\"attention\"")).isEqualTo(3);
        assertThat(count(html, "data-kind=\"trajectory\"")).isEqualTo(3);
        assertThat(count(html, "data-kind=\"bars\"")).isEqualTo(3);
        assertThat(html).contains("<h2 class=\"loupe-group\">A random sequence repeated once</h2>",
                "<h2 class=\"loupe-group\">Hello, world!</h2>", "Random weights");
    }

    /** The page shows what the terminal shows and opens the attention view on the strongest induction head. */
    @Test
    void thePageShowsTheLossOfEachHalfAndTheHeadScoresAndOpensOnTheStrongestInductionHead() throws Exception {
        CliTestSupport.Result result = run("demo", "--out-dir", dir.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        Matcher strongest = Pattern.compile("Strongest induction head: L(\\d)H(\\d)").matcher(
                Files.readString(dir.resolve("loupe-demo.html")));
        String html = Files.readString(dir.resolve("loupe-demo.html"));
        assertThat(strongest.find()).as(html).isTrue();
        // The shipped model's induction heads are in layer 1 (its MODEL.md).
        assertThat(strongest.group(1)).isEqualTo("1");
        assertThat(html).contains("Loss on the first half (random tokens)", "Trained weights: Loupe trained this model",
                "<h3>Induction score of each head</h3>", "<h3>Previous-token score of each head</h3>",
                "\"openLayer\":1,\"openHead\":" + strongest.group(2)).doesNotContain("Random weights");
        assertThat(count(html, "data-kind=\"heatmap\"")).isEqualTo(2);
    }

    @Test
    void byDefaultThePageGoesToANewTemporaryFolder() throws Exception {
        CliTestSupport.Result result = run("demo", "--tokens", "0,17,42");
        assertThat(result.exitCode()).as(result.err()).isZero();
        Matcher m = Pattern.compile("Report {5}(\\S+loupe-demo\\.html) ").matcher(result.out());
        assertThat(m.find()).as(result.out()).isTrue();
        Path page = Path.of(m.group(1));
        try {
            assertThat(page.getParent().getParent())
                    .isEqualTo(Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath());
            assertThat(page.getParent().getFileName().toString()).startsWith("loupe-demo-");
            assertThat(Files.readString(page)).contains("3 token ids", "data-kind=\"attention\"");
        } finally {
            Files.deleteIfExists(page);
            Files.deleteIfExists(page.getParent());
        }
    }

    private static int count(String text, String part) {
        return (int) Pattern.compile(Pattern.quote(part)).matcher(text).results().count();
    }
}
