package dev.loupe.viz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The page as text: self-contained, escaped, written whole. The browser tests check how it behaves. */
class HtmlReportTest {
    static final String HOSTILE = "</script><script>document.title='pwned'</script><!--";

    @TempDir
    Path dir;

    @Test
    void pageNamesNothingOutsideItself() {
        String html = DemoData.get().report().toHtml();
        assertThat(html).startsWith("<!DOCTYPE html>").contains("Content-Security-Policy", "default-src 'none'");
        assertThat(html).doesNotContainPattern("(?i)(src|href)\\s*=\\s*[\"']?(https?:|//)")
                .doesNotContainPattern("(?i)@import|url\\(\\s*[\"']?https?:")
                .doesNotContain("fetch(", "XMLHttpRequest");
        assertThat(Pattern.compile("<section class=\"loupe-view\"").matcher(html).results().count()).isEqualTo(6);
    }

    @Test
    void logitAttributionBarsAddUpToTheLogitDifference() {
        DemoData data = DemoData.get();
        assertThat(data.logitAttribution.labels()).containsExactly("embed", "pos_embed", "0_attn_out", "0_mlp_out",
                "1_attn_out", "1_mlp_out");
        double sum = 0;
        for (float v : data.logitAttribution.values()) {
            sum += v;
        }
        assertThat(sum).isCloseTo(data.attributedLogitDiff, org.assertj.core.data.Offset.offset(1e-4));
        float[] values = data.logitAttribution.values();
        assertThat(java.util.stream.IntStream.range(0, values.length).mapToDouble(i -> values[i]))
                .as("some components push each way").anyMatch(v -> v < 0).anyMatch(v -> v > 0);
    }

    @Test
    void textCannotBreakOutOfItsElement() {
        String html = HtmlReport.titled(HOSTILE).paragraph(HOSTILE).heading(HOSTILE)
                .coloredTokens(ColoredTokens.of(HOSTILE, List.of(HOSTILE, "b"), new float[] {1, 2}, HOSTILE))
                .toHtml();
        // One data script and report.js: the hostile text opened no element.
        assertThat(Pattern.compile("<script").matcher(html).results().count()).isEqualTo(2);
        assertThat(html).doesNotContain("<script>document", "<!--\"", "</script><script>document");
        assertThat(html).contains("&lt;/script&gt;&lt;script&gt;", "\\u003c/script\\u003e\\u003cscript\\u003edocument");
    }

    @Test
    void writesAtomicallyIntoNewFolders() throws Exception {
        Path file = dir.resolve("a/b/report.html");
        HtmlReport.titled("t").barChart(new BarChart("bars", List.of("x"), new float[] {Float.NaN}, "v")).write(file);
        String html = Files.readString(file, StandardCharsets.UTF_8);
        assertThat(html).contains("\"values\":[null]").endsWith("</html>\n");
        try (var files = Files.list(file.getParent())) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("report.html");
        }
    }

    @Test
    void viewsRejectMismatchedData() {
        AttentionPatterns a = new AttentionPatterns(0, List.of("x"), new float[][][] {{{1f}}});
        AttentionPatterns b = new AttentionPatterns(1, List.of("y"), new float[][][] {{{1f}}});
        assertThatThrownBy(() -> HtmlReport.titled("t").attention("a", List.of(a, b)))
                .hasMessageContaining("same tokens");
        assertThatThrownBy(() -> new Heatmap("t", "", List.of("r"), "", List.of("c"), new float[][] {{1, 2}}, "v",
                ColorScale.blues(0, 1), null)).hasMessageContaining("one value per column label");
        assertThatThrownBy(() -> new BarChart("t", List.of("a"), new float[0], "v")).hasMessageContaining("one value");
    }
}
