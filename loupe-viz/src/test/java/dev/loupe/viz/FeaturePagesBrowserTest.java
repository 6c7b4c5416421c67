package dev.loupe.viz;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.analysis.FeatureLogits;
import dev.loupe.sae.analysis.FeatureTopTokens;
import dev.loupe.sae.features.FeatureActivity;
import dev.loupe.sae.features.FeatureContext;
import dev.loupe.sae.features.FeatureHarvest;
import dev.loupe.sae.features.FeatureOptions;
import dev.loupe.testing.Fixtures;
import dev.loupe.viz.testing.Chromium;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;

/**
 * SAE feature pages in a real headless Chromium, served by a real HTTP server on loopback that counts every request:
 * the gpt2 fixture model with SAELens's {@code standard_resid_pre_l0} fixture SAE harvested over 24 random sequences;
 * pages for the three densest features and the index. What the page shows is read back from the DOM and compared
 * with the harvest: contexts in order of activation, each token's colour the colour scale's colour of its activation
 * (within 1 per channel: the page's JSON holds the float's shortest decimal, Java the float itself).
 */
class FeaturePagesBrowserTest {
    private static final Path SCREENSHOTS = Path.of("target/screenshots");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SAE = "gpt2 standard_resid_pre_l0";

    private static Chromium chromium;
    private static HttpServer server;
    private static final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    private static final Map<String, byte[]> pages = new HashMap<>();
    private static String base;
    private static FeatureHarvest harvest;
    private static List<Integer> withPages;

    @BeforeAll
    static void serveThePages() throws IOException {
        long[][] corpus = new long[24][16];
        Random random = new Random(5);
        for (long[] row : corpus) {
            for (int t = 0; t < row.length; t++) {
                row[t] = random.nextInt(512);
            }
        }
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager();
             Sae sae = Sae.load(Fixtures.ROOT.resolve("sae/gpt2/standard_resid_pre_l0"), manager)) {
            harvest = FeatureHarvest.run(model, sae, corpus, null, FeatureOptions.defaults().withTopContexts(8));
            withPages = harvest.byDensity().subList(0, 3).stream().map(FeatureActivity::feature).toList();
            int[] features = withPages.stream().mapToInt(Integer::intValue).toArray();
            Map<Integer, FeatureTopTokens> logits = new HashMap<>();
            for (FeatureTopTokens l : FeatureLogits.of(model, sae).topTokens(features, 6)) {
                logits.put(l.feature(), l);
                pages.put("/" + FeaturePage.fileName(l.feature()), FeaturePage.report(SAE, harvest.feature(l.feature()),
                        l, null, "index.html").toHtml().getBytes(StandardCharsets.UTF_8));
            }
            pages.put("/index.html", FeatureIndex.report(SAE, harvest, logits, new LinkedHashSet<>(withPages), null)
                    .toHtml().getBytes(StandardCharsets.UTF_8));
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            requests.add(path);
            byte[] body = pages.getOrDefault(path, "not found".getBytes(StandardCharsets.UTF_8));
            exchange.getResponseHeaders().add("Content-Type", pages.containsKey(path) ? "text/html; charset=utf-8"
                    : "text/plain");
            exchange.sendResponseHeaders(pages.containsKey(path) ? 200 : 404, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort() + "/";
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
    void start() {
        if (chromium == null) {
            chromium = Chromium.startOrSkip();
        }
        requests.clear();
        chromium.console();
        chromium.performance();
    }

    @Test
    void aFeaturePageShowsItsContextsByActivationInTheScalesColours() throws Exception {
        int feature = withPages.get(0);
        FeatureActivity activity = harvest.feature(feature);
        String url = open(FeaturePage.fileName(feature));
        assertThat(chromium.driver.getTitle()).isEqualTo("Feature " + feature + " of " + SAE);

        WebElement view = view("contexts");
        List<WebElement> rows = view.findElements(By.className("loupe-context"));
        assertThat(rows).hasSize(activity.contexts().size()).hasSizeGreaterThan(3);
        ColorScale scale = ColorScale.blues(0, activity.maxActivation());
        List<Double> peaks = new ArrayList<>();
        int checked = 0;
        for (int r = 0; r < rows.size(); r++) {
            WebElement row = rows.get(r);
            FeatureContext context = activity.contexts().get(r);
            List<WebElement> spans = row.findElements(By.cssSelector(".loupe-tok"));
            assertThat(spans).extracting(WebElement::getText).containsExactlyElementsOf(
                    java.util.Arrays.stream(context.tokens()).mapToObj(id -> "#" + id).toList());
            WebElement peak = row.findElement(By.className("loupe-peak"));
            peaks.add(Double.parseDouble(peak.getAttribute("data-value")));
            assertThat(peak.getAttribute("data-index")).isEqualTo(String.valueOf(context.maxIndex()));
            float[] values = context.activations();
            for (int i = 0; i < spans.size(); i++) {
                int shown = rgb(spans.get(i).getCssValue("background-color"));
                int expected = scale.rgb(values[i]);
                assertThat(closeColours(shown, expected)).as("row %d token %d: %06x vs %06x for %s", r, i, shown,
                        expected, values[i]).isTrue();
                assertThat(Double.parseDouble(spans.get(i).getAttribute("data-value"))).isCloseTo(values[i],
                        org.assertj.core.data.Offset.offset(1e-6));
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(40);
        List<Double> sorted = new ArrayList<>(peaks);
        sorted.sort(Collections.reverseOrder());
        assertThat(peaks).as("peak activations read from the page, top to bottom").isEqualTo(sorted);
        assertThat(peaks.get(0)).isCloseTo(activity.maxActivation(), org.assertj.core.data.Offset.offset(1e-6));
        // The most active token is the scale's darkest colour.
        assertThat(rgb(rows.get(0).findElement(By.className("loupe-peak")).getCssValue("background-color")))
                .isEqualTo(0x08306b);

        WebElement peak = rows.get(1).findElement(By.className("loupe-peak"));
        new Actions(chromium.driver).moveToElement(peak).perform();
        FeatureContext second = activity.contexts().get(1);
        assertThat(chromium.driver.findElement(By.id("loupe-tooltip")).getText()).contains(
                "\u201c#" + second.tokens()[second.maxIndex()] + "\u201d (sequence " + second.sequence() + ", position "
                        + second.position(), "activation = " + String.format(Locale.ROOT, "%.4f", second.maxActivation()));

        assertThat(chromium.driver.findElements(By.cssSelector(".loupe-view[data-kind='bars']"))).hasSize(2);
        List<WebElement> bins = view("histogram").findElements(By.className("loupe-hist-bar"));
        assertThat(bins).hasSize(32);
        long total = bins.stream().mapToLong(b -> Long.parseLong(b.getAttribute("data-count"))).sum();
        assertThat(total).isEqualTo(activity.activeTokens());
        Files.write(SCREENSHOTS.resolve("feature-page.png"), chromium.driver.getScreenshotAs(OutputType.BYTES));
        assertQuiet(url);
    }

    @Test
    void theIndexListsFeaturesByDensityAndLinksToTheirPages() throws Exception {
        String url = open("index.html");
        List<WebElement> rows = view("features").findElements(By.className("loupe-feature-row"));
        List<Integer> expected = harvest.byDensity().stream().filter(a -> a.activeTokens() > 0)
                .map(FeatureActivity::feature).toList();
        assertThat(rows).extracting(r -> Integer.parseInt(r.getAttribute("data-feature")))
                .containsExactlyElementsOf(expected);
        List<WebElement> links = view("features").findElements(By.className("loupe-feature-link"));
        assertThat(links).extracting(WebElement::getText)
                .containsExactlyElementsOf(withPages.stream().map(f -> "Feature " + f).toList());
        Files.write(SCREENSHOTS.resolve("feature-index.png"), chromium.driver.getScreenshotAs(OutputType.BYTES));
        assertQuiet(url);

        int second = withPages.get(1);
        links.get(1).click();
        assertThat(chromium.driver.getCurrentUrl()).isEqualTo(base + FeaturePage.fileName(second));
        assertThat(chromium.driver.findElement(By.tagName("body")).getAttribute("data-rendered")).isEqualTo("true");
        assertThat(chromium.driver.getTitle()).isEqualTo("Feature " + second + " of " + SAE);
        chromium.driver.findElement(By.className("loupe-link")).click();
        assertThat(chromium.driver.getCurrentUrl()).isEqualTo(url);
        assertThat(requests).containsExactly("/index.html", "/" + FeaturePage.fileName(second), "/index.html");
        assertThat(chromium.console()).isEmpty();
    }

    private static String open(String page) {
        String url = base + page;
        chromium.driver.get(url);
        assertThat(chromium.driver.findElement(By.tagName("body")).getAttribute("data-rendered"))
                .as("report.js ran to its end").isEqualTo("true");
        return url;
    }

    /** No console message, and no request but the page itself (the server's count and the browser's log). */
    private static void assertQuiet(String url) throws RuntimeException {
        assertThat(chromium.console()).as("console messages").isEmpty();
        assertThat(requests).as("requests the loopback server saw").containsExactly(url.substring(base.length() - 1));
        Set<String> requested = new HashSet<>();
        for (String message : chromium.performance()) {
            try {
                JsonNode event = JSON.readTree(message).path("message");
                if (event.path("method").asText().equals("Network.requestWillBeSent")) {
                    requested.add(event.path("params").path("request").path("url").asText());
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        assertThat(requested).as("requests in the browser's network log").allMatch(u -> u.equals(url) || u.startsWith("data:"))
                .contains(url);
    }

    private static WebElement view(String kind) {
        return chromium.driver.findElement(By.cssSelector(".loupe-view[data-kind='" + kind + "']"));
    }

    private static boolean closeColours(int a, int b) {
        for (int shift = 0; shift <= 16; shift += 8) {
            if (Math.abs(((a >> shift) & 255) - ((b >> shift) & 255)) > 1) {
                return false;
            }
        }
        return true;
    }

    private static int rgb(String css) {
        String[] parts = css.replaceAll("[^0-9,]", "").split(",");
        return (Integer.parseInt(parts[0]) << 16) | (Integer.parseInt(parts[1]) << 8) | Integer.parseInt(parts[2]);
    }
}
