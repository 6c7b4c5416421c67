package dev.loupe.viz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenDisplay;
import dev.loupe.viz.testing.Chromium;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.support.ui.Select;

/**
 * The report in a real headless Chromium, served by a real HTTP server on the loopback interface that
 * counts every request. Screenshots go to target/screenshots for people to look at.
 */
class HtmlReportBrowserTest {
    private static final Path SCREENSHOTS = Path.of("target/screenshots");
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Chromium chromium;
    private static HttpServer server;
    private static final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    private static String url;
    private static DemoData data;

    @BeforeAll
    static void serveTheReport() throws IOException {
        data = DemoData.get();
        byte[] page = data.report().toHtml().getBytes(StandardCharsets.UTF_8);
        byte[] hostile = HtmlReport.titled(HtmlReportTest.HOSTILE).paragraph(HtmlReportTest.HOSTILE)
                .coloredTokens(ColoredTokens.of(HtmlReportTest.HOSTILE, List.of(HtmlReportTest.HOSTILE, "b"),
                        new float[] {1, 2}, HtmlReportTest.HOSTILE))
                .toHtml().getBytes(StandardCharsets.UTF_8);
        byte[] prompts;
        HookedTransformer model = SharedModels.gpt2Tok();
        HtmlReport report = HtmlReport.titled("Two prompts, as loupe demo shows them");
        PromptViews.addTo(report, model, "First",
                model.toTokens(List.of(DemoData.PROMPT), dev.loupe.tokenize.TextOptions.defaults()).ids()[0], 5);
        // Opens on layer 1, head 2, as the demo opens on its strongest induction head.
        PromptViews.addTo(report, model, List.of(), "Second", new long[] {50256, 15496, 11, 995, 0}, 3, 1, 2);
        prompts = report.toHtml().getBytes(StandardCharsets.UTF_8);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            requests.add(exchange.getRequestURI().getPath());
            String path = exchange.getRequestURI().getPath();
            boolean found = path.equals("/report.html") || path.equals("/hostile.html") || path.equals("/prompts.html");
            byte[] body = !found ? "not found".getBytes(StandardCharsets.UTF_8)
                    : path.equals("/report.html") ? page : path.equals("/hostile.html") ? hostile : prompts;
            exchange.getResponseHeaders().add("Content-Type", found ? "text/html; charset=utf-8" : "text/plain");
            exchange.sendResponseHeaders(found ? 200 : 404, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        url = "http://127.0.0.1:" + server.getAddress().getPort() + "/report.html";
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterAll
    static void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (server != null) {
            server.stop(0);
        }
    }

    @BeforeEach
    void load() {
        if (chromium == null) {
            chromium = Chromium.startOrSkip();
        }
        requests.clear();
        chromium.console();
        chromium.performance();
        chromium.driver.get(url);
        assertThat(chromium.driver.findElement(By.tagName("body")).getAttribute("data-rendered"))
                .as("report.js ran to its end").isEqualTo("true");
    }

    @Test
    void loadsWithNoConsoleErrorAndNoNetworkRequestButThePage() throws Exception {
        // Exercise every control, so lazily made requests would show too.
        WebElement attention = view("attention");
        new Select(attention.findElement(By.className("loupe-layer-picker"))).selectByIndex(1);
        attention.findElements(By.className("loupe-head-btn")).get(3).click();
        for (WebElement button : view("trajectory").findElements(By.className("loupe-stat-btn"))) {
            button.click();
        }
        new Actions(chromium.driver).moveToElement(view("heatmap").findElements(By.className("loupe-cell")).get(3))
                .perform();
        Thread.sleep(300);

        List<LogEntry> console = chromium.console();
        assertThat(console).as("console messages").isEmpty();
        assertThat(requests).as("requests the loopback server saw").containsExactly("/report.html");

        Set<String> requested = new HashSet<>();
        for (String message : chromium.performance()) {
            JsonNode event = JSON.readTree(message).path("message");
            if (event.path("method").asText().equals("Network.requestWillBeSent")) {
                requested.add(event.path("params").path("request").path("url").asText());
            }
        }
        assertThat(requested).as("requests in the browser's network log (data: URLs are inline)")
                .allMatch(u -> u.equals(url) || u.startsWith("data:"))
                .contains(url);
    }

    @Test
    void attentionHasOneGridPerHeadWithOneCellPerTokenPair() {
        WebElement attention = view("attention");
        int pos = data.tokens.size();
        Select layers = new Select(attention.findElement(By.className("loupe-layer-picker")));
        assertThat(layers.getOptions()).extracting(WebElement::getText).containsExactly("Layer 0", "Layer 1");
        for (int layer = 0; layer < data.attention.size(); layer++) {
            layers.selectByIndex(layer);
            int heads = data.attention.get(layer).nHeads();
            List<WebElement> grids = attention.findElements(By.className("loupe-attn-grid"));
            assertThat(grids).as("layer %d grids", layer).hasSize(heads);
            int[] headColors = ColorScale.headColors(heads);
            for (int h = 0; h < heads; h++) {
                WebElement grid = grids.get(h);
                assertThat(grid.getAttribute("data-head")).isEqualTo(String.valueOf(h));
                // Thumbnails are canvases: read back the centre pixel of every cell.
                List<Long> cells = thumbnailCells(grid);
                assertThat(cells).as("cells of head %d", h).hasSize(pos * pos);
                ColorScale scale = ColorScale.whiteTo(headColors[h], 0, 1);
                float[][] pattern = data.attention.get(layer).pattern()[h];
                for (int q = 0; q < pos; q++) {
                    for (int k = 0; k < pos; k++) {
                        int expected = scale.rgb(Math.round(pattern[q][k] * 1e4) / 1e4);
                        assertThat(closeColours(cells.get(q * pos + k).intValue(), expected))
                                .as("layer %d head %d cell (%d, %d): %06x vs %06x", layer, h, q, k,
                                        cells.get(q * pos + k), expected).isTrue();
                    }
                }
            }
            assertThat(attention.findElements(By.className("loupe-head-btn"))).hasSize(heads);
            WebElement focus = attention.findElement(By.className("loupe-attn-focus"));
            assertThat(focus.getAttribute("data-layer")).isEqualTo(String.valueOf(layer));
            assertThat(cellCount(focus)).isEqualTo(pos * pos);
        }
        assertThat(data.attention.get(0).nHeads()).isEqualTo(4);
    }

    @Test
    void hoveringAnAttentionCellShowsItsTokensAndWeight() throws Exception {
        WebElement attention = view("attention");
        attention.findElements(By.className("loupe-thumb")).get(2).click(); // head 2, large
        WebElement focus = attention.findElement(By.className("loupe-attn-focus"));
        assertThat(focus.getAttribute("data-head")).isEqualTo("2");
        int dest = 6;
        int src = 3;
        WebElement cell = focus.findElement(By.cssSelector(".loupe-cell[data-row='" + dest + "'][data-col='" + src + "']"));
        new Actions(chromium.driver).moveToElement(cell).perform();

        WebElement tooltip = chromium.driver.findElement(By.id("loupe-tooltip"));
        assertThat(tooltip.isDisplayed()).isTrue();
        float weight = data.attention.get(0).pattern()[2][dest][src];
        String text = tooltip.getText();
        assertThat(text).contains("Layer 0, head 2",
                "destination \u201c" + data.tokens.get(dest) + "\u201d (pos 6)",
                "attends to \u201c" + data.tokens.get(src) + "\u201d (pos 3)",
                "weight " + String.format(Locale.ROOT, "%.4f", Math.round(weight * 1e4) / 1e4));
        assertThat(data.tokens.get(dest)).isEqualTo("␣over");
        assertThat(data.tokens.get(src)).isEqualTo("␣brown");

        // The colour is the head's colour scale of that weight, as the PNG draws it.
        int expected = ColorScale.whiteTo(ColorScale.headColors(4)[2], 0, 1).rgb(Math.round(weight * 1e4) / 1e4);
        assertThat(rgb(cell.getCssValue("background-color"))).isEqualTo(expected);

        // A masked (future) position: weight 0, white.
        WebElement future = focus.findElement(By.cssSelector(".loupe-cell[data-row='1'][data-col='5']"));
        new Actions(chromium.driver).moveToElement(future).perform();
        assertThat(tooltip.getText()).contains("weight 0.0000");
        assertThat(rgb(future.getCssValue("background-color"))).isEqualTo(0xffffff);
    }

    @Test
    void trajectoryShowsTopTokensColouredByTheChosenStatistic() {
        WebElement view = view("trajectory");
        WebElement body = view.findElement(By.className("loupe-trajectory"));
        int layers = data.trajectory.layers().size();
        int pos = data.tokens.size();
        assertThat(cellCount(body)).isEqualTo(layers * pos);
        assertThat(body.getAttribute("data-stat")).isEqualTo("probability");

        // The top row is the output; the cell shows its top token.
        TrajectoryData.Cell output = data.trajectory.cells().get(layers - 1).get(4);
        WebElement cell = body.findElement(By.cssSelector(".loupe-cell[data-row='0'][data-col='4']"));
        // 64 px cells show 8 characters; the tooltip has the whole token.
        assertThat(cell.getText()).isEqualTo(TokenDisplay.shorten(output.topTokens().get(0), 8));
        assertThat(rgb(cell.getCssValue("background-color")))
                .isEqualTo(ColorScale.blues(0, 1).rgb(output.topProb()));

        new Actions(chromium.driver).moveToElement(cell).perform();
        String tip = chromium.driver.findElement(By.id("loupe-tooltip")).getText();
        assertThat(tip).contains("output, position 4 (input \u201c" + data.tokens.get(4) + "\u201d)", "top 5 next tokens:");
        for (int i = 0; i < 5; i++) {
            assertThat(tip).contains((i + 1) + ". \u201c" + output.topTokens().get(i) + "\u201d  "
                    + String.format(Locale.ROOT, "%.4f", output.topProbs()[i]));
        }

        // The lens picker switches to the second lens, whose top tokens are swapped.
        Select lenses = new Select(view.findElement(By.className("loupe-lens-picker")));
        assertThat(lenses.getOptions()).extracting(WebElement::getText).containsExactly("logit lens", "swapped lens");
        lenses.selectByIndex(1);
        body = view.findElement(By.className("loupe-trajectory"));
        assertThat(body.getAttribute("data-lens")).isEqualTo("swapped lens");
        assertThat(body.findElement(By.cssSelector(".loupe-cell[data-row='0'][data-col='4']")).getText())
                .isEqualTo(TokenDisplay.shorten(output.topTokens().get(1), 8));
        lenses.selectByIndex(0);
        body = view.findElement(By.className("loupe-trajectory"));

        // Entropy, then KL: the colours follow, on their own scales.
        TrajectoryData.Cell first = data.trajectory.cells().get(0).get(4);
        WebElement bottom = body.findElement(By.cssSelector(".loupe-cell[data-row='" + (layers - 1) + "'][data-col='4']"));
        view.findElement(By.cssSelector(".loupe-stat-btn[data-stat='entropy']")).click();
        body = view.findElement(By.className("loupe-trajectory"));
        assertThat(body.getAttribute("data-stat")).isEqualTo("entropy");
        bottom = body.findElement(By.cssSelector(".loupe-cell[data-row='" + (layers - 1) + "'][data-col='4']"));
        assertThat(rgb(bottom.getCssValue("background-color")))
                .isEqualTo(data.trajectory.scale(TrajectoryData.Statistic.ENTROPY).rgb(first.entropy()));
        view.findElement(By.cssSelector(".loupe-stat-btn[data-stat='kl']")).click();
        body = view.findElement(By.className("loupe-trajectory"));
        bottom = body.findElement(By.cssSelector(".loupe-cell[data-row='" + (layers - 1) + "'][data-col='4']"));
        assertThat(rgb(bottom.getCssValue("background-color")))
                .isEqualTo(data.trajectory.scale(TrajectoryData.Statistic.KL).rgb(first.klToFinal()));
        WebElement top = body.findElement(By.cssSelector(".loupe-cell[data-row='0'][data-col='4']"));
        assertThat(rgb(top.getCssValue("background-color"))).as("KL of the output to itself is 0: the palest")
                .isEqualTo(data.trajectory.scale(TrajectoryData.Statistic.KL).rgb(0));
    }

    @Test
    void heatmapBarsAndTokensShowTheirValuesOnHover() {
        WebElement heatmap = view("heatmap");
        assertThat(cellCount(heatmap)).isEqualTo(data.patching.nRows() * data.patching.nColumns());
        WebElement cell = heatmap.findElement(By.cssSelector(".loupe-cell[data-row='1'][data-col='3']"));
        new Actions(chromium.driver).moveToElement(cell).perform();
        assertThat(chromium.driver.findElement(By.id("loupe-tooltip")).getText()).contains(
                "layer 1, position " + data.tokens.get(3),
                "logit diff ␣jumps − ␣runs = " + String.format(Locale.ROOT, "%.4f", data.patching.values()[1][3]));
        assertThat(rgb(cell.getCssValue("background-color")))
                .isEqualTo(data.patching.scale().rgb(data.patching.values()[1][3]));

        WebElement attribution = chromium.driver.findElements(By.cssSelector(".loupe-view[data-kind='bars']")).get(1);
        List<WebElement> attributionBars = attribution.findElements(By.className("loupe-bar"));
        float[] attrs = data.logitAttribution.values();
        assertThat(attributionBars).hasSize(attrs.length);
        for (int i = 0; i < attrs.length; i++) {
            WebElement bar = attributionBars.get(i);
            int middle = bar.findElement(By.xpath("..")).getRect().getX()
                    + bar.findElement(By.xpath("..")).getRect().getWidth() / 2;
            if (attrs[i] < 0) {
                assertThat(rgb(bar.getCssValue("background-color"))).as("negative bar %d", i).isEqualTo(0xb2182b);
                assertThat(bar.getRect().getX() + bar.getRect().getWidth()).isBetween(middle - 1, middle + 1);
            } else {
                assertThat(rgb(bar.getCssValue("background-color"))).as("positive bar %d", i).isEqualTo(0x2166ac);
                assertThat(bar.getRect().getX()).isBetween(middle - 1, middle + 1);
            }
        }

        WebElement bars = view("bars");
        List<WebElement> tracks = bars.findElements(By.className("loupe-bar-track"));
        assertThat(tracks).hasSize(5);
        new Actions(chromium.driver).moveToElement(tracks.get(0)).perform();
        assertThat(chromium.driver.findElement(By.id("loupe-tooltip")).getText())
                .contains("\u201c" + data.topPredictions.labels().get(0) + "\u201d", "probability = ");
        assertThat(bars.findElements(By.className("loupe-bar")).get(0).getSize().getWidth())
                .isGreaterThan(bars.findElements(By.className("loupe-bar")).get(4).getSize().getWidth() - 1);

        WebElement tokens = view("tokens");
        List<WebElement> spans = tokens.findElements(By.cssSelector(".loupe-tokens .loupe-tok"));
        assertThat(spans).extracting(WebElement::getText).containsExactlyElementsOf(data.loss.tokens());
        new Actions(chromium.driver).moveToElement(spans.get(2)).perform();
        assertThat(chromium.driver.findElement(By.id("loupe-tooltip")).getText())
                .contains("\u201c" + data.loss.tokens().get(2) + "\u201d (pos 2)",
                        "loss (nats) = " + String.format(Locale.ROOT, "%.4f", data.loss.values()[2]));
    }

    @Test
    void screenshotsAreNotBlank() throws Exception {
        byte[] page = chromium.driver.getScreenshotAs(OutputType.BYTES);
        Files.write(SCREENSHOTS.resolve("report.png"), page);
        assertThat(distinctColours(page)).as("colours in the page's screenshot").isGreaterThan(40);
        for (String kind : List.of("attention", "trajectory", "heatmap", "bars", "tokens")) {
            WebElement view = view(kind);
            new Actions(chromium.driver).scrollToElement(view).perform();
            byte[] shot = view.getScreenshotAs(OutputType.BYTES);
            Files.write(SCREENSHOTS.resolve(kind + ".png"), shot);
            assertThat(distinctColours(shot)).as("colours in the %s view's screenshot", kind).isGreaterThan(8);
        }
    }

    @Test
    void textThatLooksLikeMarkupIsShownAsText() {
        chromium.driver.get(url.replace("report.html", "hostile.html"));
        assertThat(chromium.driver.getTitle()).isEqualTo(HtmlReportTest.HOSTILE);
        WebElement tokens = view("tokens");
        assertThat(tokens.findElements(By.cssSelector(".loupe-tokens .loupe-tok")).get(0).getText())
                .isEqualTo(HtmlReportTest.HOSTILE);
        assertThat(chromium.driver.findElement(By.tagName("body")).getAttribute("data-rendered")).isEqualTo("true");
        assertThat(chromium.console()).isEmpty();
    }

    @Test
    void theDemosViewsOfTwoPromptsLoadCleanly() {
        requests.clear();
        chromium.performance();
        String prompts = url.replace("report.html", "prompts.html");
        chromium.driver.get(prompts);
        assertThat(chromium.driver.findElement(By.tagName("body")).getAttribute("data-rendered")).isEqualTo("true");
        assertThat(chromium.driver.findElements(By.cssSelector("h2.loupe-group"))).extracting(WebElement::getText)
                .containsExactly("First", "Second");
        List<WebElement> attention = chromium.driver.findElements(By.cssSelector(".loupe-view[data-kind='attention']"));
        assertThat(attention).hasSize(2);
        assertThat(attention.get(0).findElements(By.className("loupe-attn-grid"))).hasSize(4)
                .allSatisfy(grid -> assertThat(thumbnailCells(grid)).hasSize(11 * 11));
        assertThat(attention.get(1).findElements(By.className("loupe-attn-grid"))).hasSize(4)
                .allSatisfy(grid -> assertThat(thumbnailCells(grid)).hasSize(5 * 5));
        assertThat(cellCount(attention.get(1).findElement(By.className("loupe-attn-focus")))).isEqualTo(5 * 5);
        assertThat(attention.get(0).findElement(By.className("loupe-attn-focus")).getAttribute("data-head")).isEqualTo("0");
        assertThat(attention.get(1).findElement(By.className("loupe-attn-focus")).getAttribute("data-head")).isEqualTo("2");
        assertThat(new Select(attention.get(1).findElement(By.className("loupe-layer-picker"))).getFirstSelectedOption()
                .getText()).isEqualTo("Layer 1");
        assertThat(chromium.driver.findElements(By.cssSelector(".loupe-view[data-kind='trajectory'] .loupe-cell")))
                .hasSize(3 * 11 + 3 * 5);
        assertThat(chromium.driver.findElements(By.cssSelector(".loupe-view[data-kind='bars'] .loupe-bar")))
                .hasSize(5 + 3);
        assertThat(chromium.console()).isEmpty();
        assertThat(requests).containsExactly("/prompts.html");
    }

    private static WebElement view(String kind) {
        return chromium.driver.findElement(By.cssSelector(".loupe-view[data-kind='" + kind + "']"));
    }

    /** The colour (0xRRGGBB) at the centre of each cell of a thumbnail canvas, row by row. */
    @SuppressWarnings("unchecked")
    private static List<Long> thumbnailCells(WebElement canvas) {
        int rows = Integer.parseInt(canvas.getAttribute("data-rows"));
        int cell = Integer.parseInt(canvas.getAttribute("data-cell"));
        assertThat(canvas.getAttribute("width")).isEqualTo(String.valueOf(rows * cell));
        return (List<Long>) chromium.driver.executeScript(
                // One readback per canvas (several make Chrome warn on the console).
                "var c = arguments[0], n = +c.dataset.rows, s = +c.dataset.cell, out = [];"
                        + "var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                        + "for (var q = 0; q < n; q++) for (var k = 0; k < n; k++) {"
                        + "  var i = 4 * ((q * s + (s >> 1)) * c.width + k * s + (s >> 1));"
                        + "  out.push(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]); }"
                        + "return out;", canvas);
    }

    /** Equal within 1 per channel (a canvas may round differently from Java). */
    private static boolean closeColours(int a, int b) {
        for (int shift = 0; shift <= 16; shift += 8) {
            if (Math.abs(((a >> shift) & 255) - ((b >> shift) & 255)) > 1) {
                return false;
            }
        }
        return true;
    }

    private static int cellCount(WebElement within) {
        return within.findElements(By.className("loupe-cell")).size();
    }

    /** {@code rgb(1, 2, 3)} or {@code rgba(1, 2, 3, 1)} as 0xRRGGBB. */
    private static int rgb(String css) {
        String[] parts = css.replaceAll("[^0-9,]", "").split(",");
        return (Integer.parseInt(parts[0]) << 16) | (Integer.parseInt(parts[1]) << 8) | Integer.parseInt(parts[2]);
    }

    private static int distinctColours(byte[] png) throws IOException {
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                colours.add(image.getRGB(x, y) & 0xffffff);
            }
        }
        return colours.size();
    }
}
