package dev.loupe.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.analysis.patching.PatchMetric;
import dev.loupe.analysis.patching.Patching;
import dev.loupe.cache.ActivationCache;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookScope;
import dev.loupe.server.explore.ServedModel;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.train.toy.RepeatHalves;
import dev.loupe.viz.testing.Chromium;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in a real headless Chromium against a real server on loopback: what it shows equals what
 * the Java API computes, it logs no console error, and it asks nothing of any other origin.
 */
class ExplorerBrowserTest {
    private static ServedModel induction;
    private static ServedModel gpt;
    private static LoupeServer server;
    private static Chromium chromium;

    @BeforeAll
    static void start() {
        induction = ServedModel.load(ApiTest.INDUCTION, null);
        gpt = ServedModel.load(Fixtures.model("gpt2-tok"), Fixtures.ROOT.resolve("lens"));
        server = LoupeServer.start(List.of(induction, gpt), ServerOptions.loopback(0).withToken("browser-token"));
    }

    @AfterAll
    static void stop() {
        if (chromium != null) {
            chromium.close();
        }
        server.close();
        gpt.close();
        induction.close();
    }

    @BeforeEach
    void browser() {
        Chromium.assumeInstalled();
        if (chromium == null) {
            chromium = Chromium.startOrSkip();
        }
        chromium.console();
        chromium.performance();
        chromium.driver.get(server.url().toString());
        ready();
    }

    @AfterEach
    void noConsoleErrorAndNoOtherOrigin() throws Exception {
        if (chromium == null) {
            return;
        }
        List<LogEntry> errors = chromium.console().stream().filter(e -> e.getLevel().intValue() >= Level.WARNING.intValue())
                .toList();
        assertThat(errors).as("console errors and warnings").isEmpty();
        List<String> requested = new ArrayList<>();
        for (String message : chromium.performance()) {
            JsonNode event = Http.JSON.readTree(message).path("message");
            if (event.path("method").asText().equals("Network.requestWillBeSent")) {
                requested.add(event.path("params").path("request").path("url").asText());
            }
        }
        String origin = "http://127.0.0.1:" + server.port() + "/";
        assertThat(requested).as("the page's requests").isNotEmpty()
                .allMatch(u -> u.startsWith(origin) || u.startsWith("data:"));
    }

    @Test
    void typingAPromptUpdatesTheTrajectoriesAndTheAttention() {
        new Select(byId("model")).selectByValue("gpt2-tok");
        ready();
        WebElement prompt = byId("prompt");
        prompt.sendKeys(Keys.chord(Keys.CONTROL, "a"), Keys.DELETE);
        prompt.sendKeys("Hello world, said the fox");
        long[] ids = gpt.model().textEncoder().encode("Hello world, said the fox", TextOptions.defaults());
        waitFor(() -> byId("attn-table").findElements(By.tagName("tr")).size() == ids.length);
        ready();
        List<WebElement> lenses = chromium.driver.findElements(By.cssSelector(".trajectory"));
        assertThat(lenses).extracting(l -> l.getAttribute("data-lens")).containsExactly("logit lens", "tuned lens");
        // The tuned lens's bottom row (layer 0) and its positions: the cell's top token is the API's.
        JsonNode expected = new Http(server, "browser-token").ok("trajectory", Map.of("model", "gpt2-tok",
                "prompt", Map.of("text", "Hello world, said the fox")));
        List<WebElement> rows = lenses.get(1).findElements(By.tagName("tr"));
        List<WebElement> layer0 = rows.get(rows.size() - 2).findElements(By.tagName("td"));
        assertThat(layer0).hasSize(ids.length);
        for (int p = 0; p < ids.length; p++) {
            assertThat(layer0.get(p).getText()).isEqualTo(expected.get("lenses").get(1).get("topStrings").get(0).get(p)
                    .get(0).asText().strip());
        }
        new Select(byId("traj-stat")).selectByValue("entropy");
        List<WebElement> after = chromium.driver.findElements(By.cssSelector(".trajectory")).get(1)
                .findElements(By.tagName("tr"));
        WebElement cell = after.get(after.size() - 2).findElements(By.tagName("td")).get(2);
        assertThat(Float.parseFloat(cell.getAttribute("data-value")))
                .isCloseTo(expected.get("lenses").get(1).get("entropy").get(0).get(2).floatValue(), within(1e-6f));
        // Another head: the attention grid follows the pickers.
        new Select(byId("attn-head")).selectByValue("3");
        assertThat(byId("attn-table").getAttribute("data-head")).isEqualTo("3");
        assertThat(chromium.driver.findElements(By.cssSelector("#scores table"))).hasSize(3);
    }

    @Test
    void ablatingTheInductionHeadRaisesTheRepeatedHalfsLossToTheJavaApis() {
        byId("random").click();
        ready();
        long[] ids = Arrays.stream(byId("prompt").getAttribute("value").trim().split("\\s+")).mapToLong(Long::parseLong)
                .toArray();
        assertThat(ids).hasSize(63);
        // The strongest induction head of layer 1, as the page's score table shows it; clicking it picks it.
        List<WebElement> scores = chromium.driver.findElements(
                By.cssSelector("#scores table[data-detector='induction_head'] td[data-layer='1']"));
        WebElement best = scores.stream().max((a, b) -> Float.compare(Float.parseFloat(a.getAttribute("data-value")),
                Float.parseFloat(b.getAttribute("data-value")))).orElseThrow();
        int head = Integer.parseInt(best.getAttribute("data-head"));
        best.click();
        assertThat(new Select(byId("attn-layer")).getFirstSelectedOption().getText()).isEqualTo("1");
        byId("ablate-zero").click();
        waitFor(() -> !chromium.driver.findElements(By.id("ablated-repeated")).isEmpty());
        HookSpec zero = HookSpec.forward("blocks.1.attn.hook_z", (z, point) -> {
            z.set(new NDIndex(":, :, {}", head), 0f);
            return z;
        });
        RepeatHalves clean = RepeatHalves.measure(induction.model(), ids, 1, List.of());
        RepeatHalves ablated = RepeatHalves.measure(induction.model(), ids, 1, List.of(zero));
        assertThat(Double.parseDouble(byId("clean-repeated").getAttribute("data-value")))
                .isCloseTo(clean.repeatedHalf(), within(1e-5));
        assertThat(Double.parseDouble(byId("ablated-repeated").getAttribute("data-value")))
                .isCloseTo(ablated.repeatedHalf(), within(1e-5));
        assertThat(ablated.repeatedHalf()).isGreaterThan(clean.repeatedHalf() + 0.5);
        assertThat(byId("interventions").getText()).contains("zero L1H" + head);

        // Generation with the ablation in place: the streamed tokens are Generator's under the same hook.
        WebElement n = byId("gen-n");
        n.sendKeys(Keys.chord(Keys.CONTROL, "a"), "1");
        long[] prompt = Arrays.copyOf(ids, 40);
        WebElement promptField = byId("prompt");
        promptField.sendKeys(Keys.chord(Keys.CONTROL, "a"), Keys.DELETE);
        promptField.sendKeys(String.join(" ", Arrays.stream(prompt).mapToObj(Long::toString).toList()), Keys.ENTER);
        ready();
        n.sendKeys(Keys.chord(Keys.CONTROL, "a"), "12");
        byId("gen-run").click();
        waitFor(() -> "true".equals(byId("gen-out").getAttribute("data-done")));
        long[] expected;
        try (NDManager manager = NDManager.newBaseManager(); HookScope scope = induction.model().hooks(zero)) {
            expected = Generator.generate(induction.model(), manager.create(prompt).reshape(1, prompt.length), null,
                    GenerateOptions.greedy(12).withStopAtEos(false).withUsePastKvCache(false), null).toLongArray();
        }
        assertThat(byId("gen-out").getAttribute("data-tokens")).isEqualTo(String.join(" ",
                Arrays.stream(expected).mapToObj(Long::toString).toList()));
        assertThat(chromium.driver.findElements(By.cssSelector("#gen-out .gen-new"))).hasSize(12);
    }

    @Test
    void thePatchingMapIsPatchingsAndACellShowsItsRun() {
        new Select(byId("model")).selectByValue("gpt2-tok");
        ready();
        WebElement prompt = byId("prompt");
        prompt.sendKeys(Keys.chord(Keys.CONTROL, "a"), Keys.DELETE);
        prompt.sendKeys("The capital of France is", Keys.ENTER);
        ready();
        byId("patch-corrupted").sendKeys("The capital of Spain is");
        byId("patch-answer").sendKeys("262");
        byId("patch-wrong").sendKeys("290");
        byId("patch-run").click();
        waitFor(() -> !chromium.driver.findElements(By.id("patch-table")).isEmpty());
        List<WebElement> cells = chromium.driver.findElements(By.cssSelector("#patch-table td"));
        float[] expected;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray clean = gpt.model().toTokens("The capital of France is", manager);
            NDArray corrupted = gpt.model().toTokens("The capital of Spain is", manager);
            try (ActivationCache cache = gpt.model().runWithCache(clean)) {
                expected = Patching.residPre(gpt.model(), corrupted, cache, PatchMetric.logitDiff(262, 290)).toFloatArray();
            }
        }
        assertThat(cells).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.parseFloat(cells.get(i).getAttribute("data-value"))).as("cell " + i)
                    .isCloseTo(expected[i], within(1e-4f));
        }
        WebElement cell = cells.get(cells.size() - 3);
        cell.click();
        waitFor(() -> !chromium.driver.findElements(By.id("patch-cell-value")).isEmpty());
        assertThat(Float.parseFloat(byId("patch-cell-value").getAttribute("data-value")))
                .isCloseTo(expected[cells.size() - 3], within(1e-4f));
        assertThat(cell.getAttribute("class")).contains("chosen");
    }

    private static WebElement byId(String id) {
        return chromium.driver.findElement(By.id(id));
    }

    /** Waits until the page's last update finished ("ready" in its status line). */
    private static void ready() {
        waitFor(() -> {
            String status = byId("status").getText();
            if (byId("status").getAttribute("class").contains("error")) {
                throw new AssertionError("the page shows an error: " + status);
            }
            return status.equals("ready");
        });
    }

    private static void waitFor(BooleanSupplier condition) {
        new WebDriverWait(chromium.driver, Duration.ofSeconds(20)).until(d -> condition.getAsBoolean());
    }
}
