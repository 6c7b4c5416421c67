package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.GPT2;
import static dev.loupe.cli.CliTestSupport.GPT2_TOK;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.analysis.patching.PatchMetric;
import dev.loupe.analysis.patching.Patching;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.cli.support.WeightsNote;
import dev.loupe.model.HookedTransformer;
import dev.loupe.viz.PngExport;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntUnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ViewCommandTest {
    private static final String MODEL = GPT2_TOK.toString();
    private static final String CLEAN = "The quick brown fox jumps over the lazy dog.";
    private static final String CORRUPTED = "The slow brown cat jumps over the lazy dog.";
    private static final Path INDUCTION = Path.of("../models/induction-2l");
    /** The height of the weights caption every PNG of the fixture GPT2_TOK has, for an image this wide. */
    private static final IntUnaryOperator CAPTION = width -> PngExport.captionHeight(WeightsNote.of(GPT2_TOK), width);
    /** "Hello, world!" with BOS: 5 tokens. */
    private static final String HELLO = "Hello, world!";

    @TempDir
    Path dir;

    @Test
    void attentionPageHasEveryLayerOrTheOneAskedFor() throws Exception {
        Path page = dir.resolve("attention.html");
        CliTestSupport.Result result = run("view", "attention", "--model", MODEL, "--prompt", HELLO, "--out", page.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).isEqualTo("Wrote " + page + " (open it in a browser; it needs no network)\n");
        JsonNode data = viewData(page, "attention");
        assertThat(data.path("tokens")).extracting(JsonNode::asText)
                .containsExactly("<|endoftext|>", "Hello", ",", "␣world", "!");
        assertThat(data.path("layers")).hasSize(2);
        assertThat(data.path("layers").get(1).path("heads")).hasSize(4);
        assertThat(data.path("layers").get(1).path("heads").get(0)).hasSize(5);

        CliTestSupport.Result one = run("view", "attention", "--model", MODEL, "--prompt", HELLO, "--layer", "1",
                "--out", page.toString());
        assertThat(one.exitCode()).as(one.err()).isZero();
        JsonNode layers = viewData(page, "attention").path("layers");
        assertThat(layers).hasSize(1);
        assertThat(layers.get(0).path("layer").asInt()).isEqualTo(1);
    }

    @Test
    void attentionImageHasAPanelPerHeadAndARowPerLayer() throws Exception {
        int panelWidth = PngExport.LEFT + 5 * PngExport.CELL + PngExport.RIGHT;
        int panelHeight = PngExport.TOP + 5 * PngExport.CELL + PngExport.BOTTOM;
        Path png = dir.resolve("a.png");
        CliTestSupport.Result result = run("view", "attention", "--model", MODEL, "--prompt", HELLO, "--layer", "0",
                "--out", png.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("(" + 4 * panelWidth + " x " + (CAPTION.applyAsInt(4 * panelWidth) + panelHeight)
                + " PNG)");
        assertImage(png, 4 * panelWidth, panelHeight);

        assertThat(run("view", "attention", "--model", MODEL, "--prompt", HELLO, "--out", png.toString()).exitCode())
                .isZero();
        assertImage(png, 4 * panelWidth, 2 * panelHeight);
    }

    @Test
    void trajectoryAsPageAndImage() throws Exception {
        Path page = dir.resolve("lens.html");
        CliTestSupport.Result result = run("view", "trajectory", "--model", MODEL, "--prompt", HELLO, "--top", "3",
                "--out", page.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        JsonNode lens = viewData(page, "trajectory").path("lenses").get(0);
        assertThat(lens.path("lens").asText()).isEqualTo("logit lens");
        assertThat(lens.path("layers")).extracting(JsonNode::asText).containsExactly("layer 0", "layer 1", "output");
        assertThat(lens.path("cells")).hasSize(3);
        assertThat(lens.path("cells").get(2)).hasSize(5);
        assertThat(lens.path("cells").get(2).get(4).path("t")).hasSize(3);
        assertThat(lens.path("cells").get(2).get(4).path("kl").asDouble()).isCloseTo(0, within(1e-5));

        Path png = dir.resolve("lens.png");
        assertThat(run("view", "trajectory", "--model", MODEL, "--prompt", HELLO, "--color", "entropy", "--out",
                png.toString()).exitCode()).isZero();
        assertImage(png, PngExport.LEFT + 5 * PngExport.TEXT_CELL_WIDTH + PngExport.RIGHT,
                PngExport.TOP + 3 * PngExport.TEXT_CELL_HEIGHT + PngExport.BOTTOM);

        assertThat(run("view", "trajectory", "--model", MODEL, "--prompt", HELLO, "--color", "blue", "--out",
                png.toString()).exitCode()).isEqualTo(2);
    }

    @Test
    void patchingMapIsPatchingsResult() throws Exception {
        Path page = dir.resolve("patching.html");
        CliTestSupport.Result result = run("view", "patching", "--model", MODEL, "--prompt", CLEAN, "--corrupted",
                CORRUPTED, "--answer", " jumps", "--wrong", " runs", "--metric", "logit-diff", "--out", page.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Logit difference “␣jumps” − “␣runs” at the last position: clean ");
        JsonNode map = viewData(page, "heatmap");
        assertThat(map.path("rowName").asText()).isEqualTo("layer");
        assertThat(map.path("columnName").asText()).isEqualTo("position");
        assertThat(map.path("columns")).hasSize(11);

        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(GPT2_TOK);
                NDManager manager = NDManager.newBaseManager();
                ActivationCache clean = model.runWithCache(model.toTokens(CLEAN, manager))) {
            float[] expected = Patching.residPre(model, model.toTokens(CORRUPTED, manager), clean,
                    PatchMetric.logitDiff(model.toSingleToken(" jumps"), model.toSingleToken(" runs"))).toFloatArray();
            for (int l = 0; l < 2; l++) {
                for (int p = 0; p < 11; p++) {
                    assertThat(map.path("values").get(l).get(p).asDouble()).as("layer %d pos %d", l, p)
                            .isCloseTo(expected[l * 11 + p], within(1e-4));
                }
            }
        }

        // Heads, restored share, as an image: [2 layers, 4 heads].
        Path png = dir.resolve("heads.png");
        CliTestSupport.Result heads = run("view", "patching", "--model", MODEL, "--prompt", CLEAN, "--corrupted",
                CORRUPTED, "--patch", "heads", "--out", png.toString());
        assertThat(heads.exitCode()).as(heads.err()).isZero();
        // Its long title takes a second line (it was cut with … before).
        assertImage(png, PngExport.LEFT + 4 * PngExport.CELL + PngExport.RIGHT,
                PngExport.TOP + PngExport.TITLE_LINE + 2 * PngExport.CELL + PngExport.BOTTOM);
    }

    @Test
    void mistakesAreReportedOnOneLine() {
        String out = dir.resolve("x.html").toString();
        run("view", "attention", "--model", MODEL, "--prompt", HELLO, "--out", dir.resolve("x.svg").toString())
                .failedWithOneLine("must end in .html (a page) or .png (an image)");
        run("view", "attention", "--model", MODEL, "--prompt", HELLO, "--layer", "2", "--out", out)
                .failedWithOneLine("--layer 2 is not a layer of this model; it has layers 0 to 1");
        run("view", "patching", "--model", MODEL, "--prompt", "Hello", "--corrupted", "Hello there", "--out", out)
                .failedWithOneLine("--prompt has 2 tokens");
        run("view", "patching", "--model", MODEL, "--prompt", CLEAN, "--corrupted", CORRUPTED, "--answer",
                " jumps high", "--out", out).failedWithOneLine("--answer \" jumps high\" must be one token");
        run("view", "patching", "--model", MODEL, "--prompt", CLEAN, "--corrupted", CORRUPTED, "--answer", " a",
                "--wrong", " a", "--out", out).failedWithOneLine("the same token");
        run("view", "trajectory", "--model", GPT2.toString(), "--prompt", HELLO, "--out", out)
                .failedWithOneLine("--prompt needs the model's tokenizer");
        assertThat(run("view", "patching", "--model", MODEL, "--prompt", CLEAN, "--out", out).exitCode()).isEqualTo(2);
        CliTestSupport.Result noView = run("view");
        assertThat(noView.exitCode()).isEqualTo(2);
        assertThat(noView.err()).contains("Missing a view: pick one of attention, trajectory, patching");
        assertThat(Files.exists(Path.of(out))).isFalse();
    }

    /** The JSON data of the page's first view of this kind. */
    /** The shipped induction model has no tokenizer: --tokens views it, and each page says whose weights it shows. */
    @Test
    void tokensViewAModelWithoutATokenizerAndEveryPageSaysWhetherItsWeightsAreRandom() throws Exception {
        Path page = dir.resolve("induction.html");
        CliTestSupport.Result result = run("view", "attention", "--model", "../models/induction-2l", "--tokens",
                "0,5,7,9,5,7,9", "--out", page.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(viewData(page, "attention").path("tokens")).extracting(JsonNode::asText)
                .containsExactly("#0", "#5", "#7", "#9", "#5", "#7", "#9");
        assertThat(Files.readString(page)).contains("Trained weights: Loupe trained this model", "Token ids: [0, 5, 7")
                .doesNotContain("Random weights");

        Path trajectory = dir.resolve("trajectory.html");
        CliTestSupport.Result lens = run("view", "trajectory", "--model", "../models/induction-2l", "--tokens", "0,5,7",
                "--out", trajectory.toString());
        assertThat(lens.exitCode()).as(lens.err()).isZero();
        assertThat(Files.readString(trajectory)).contains("Trained weights");

        for (String view : new String[] {"attention", "trajectory"}) {
            Path fixture = dir.resolve(view + "-fixture.html");
            CliTestSupport.Result random = run("view", view, "--model", MODEL, "--prompt", HELLO, "--out", fixture.toString());
            assertThat(random.exitCode()).as(random.err()).isZero();
            assertThat(Files.readString(fixture)).contains("Random weights (drawn with seed 4242");
        }
        Path patching = dir.resolve("patching.html");
        assertThat(run("view", "patching", "--model", MODEL, "--prompt", CLEAN, "--corrupted", CORRUPTED, "--out",
                patching.toString()).exitCode()).isZero();
        assertThat(Files.readString(patching)).contains("Random weights");

        run("view", "attention", "--model", MODEL, "--prompt", HELLO, "--tokens", "1,2", "--out", page.toString())
                .failedWithOneLine("mutually exclusive");
        run("view", "attention", "--model", MODEL, "--out", page.toString()).failedWithOneLine("--tokens IDS");
        run("view", "attention", "--model", "../models/induction-2l", "--tokens", "0,999999", "--out", page.toString())
                .failedWithOneLine("is not a token id of this model");
        CliTestSupport.Result mixed = run("view", "patching", "--model", MODEL, "--tokens", "1,2", "--corrupted", CLEAN,
                "--out", patching.toString());
        assertThat(mixed.exitCode()).isEqualTo(2);
        assertThat(mixed.err()).contains("--prompt TEXT with --corrupted TEXT, or --tokens IDS with --corrupted-tokens IDS");
    }

    /**
     * The induction model has no tokenizer: patching takes --tokens and --corrupted-tokens, and the answers as ids.
     * The clean input repeats 11 23 35 47 59 71, the corrupted one has 83 for 71 in its first half, so the induction
     * heads predict 71 and 83 at the last position; the map is Patching.residPre's, the image says Trained weights.
     */
    @Test
    void patchingTakesTokenIdsForAModelWithoutATokenizer() throws Exception {
        String clean = "0,11,23,35,47,59,71,11,23,35,47,59";
        String corrupted = "0,11,23,35,47,59,83,11,23,35,47,59";
        Path page = dir.resolve("induction-patching.html");
        CliTestSupport.Result result = run("view", "patching", "--model", INDUCTION.toString(), "--tokens", clean,
                "--corrupted-tokens", corrupted, "--answer", "71", "--wrong", "83", "--metric", "logit-diff", "--out",
                page.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Logit difference “#71” − “#83” at the last position: clean ");
        String html = Files.readString(page);
        assertThat(html).contains("Trained weights: Loupe trained this model", "Clean token ids: [0, 11, 23",
                "Corrupted token ids: [0, 11, 23, 35, 47, 59, 83").doesNotContain(WeightsNote.RANDOM);
        JsonNode map = viewData(page, "heatmap");
        assertThat(map.path("columns")).extracting(JsonNode::asText).startsWith("#0", "#11", "#23");
        double largest = 0;
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(INDUCTION);
                NDManager manager = NDManager.newBaseManager();
                ActivationCache cache = model.runWithCache(ids(manager, clean))) {
            PatchMetric metric = PatchMetric.logitDiff(71, 83);
            assertThat(metric.apply(cache.logits())).as("the induction heads copy 71").isGreaterThan(1f);
            float[] expected = Patching.residPre(model, ids(manager, corrupted), cache, metric).toFloatArray();
            for (int l = 0; l < 2; l++) {
                for (int p = 0; p < 12; p++) {
                    double value = map.path("values").get(l).get(p).asDouble();
                    largest = Math.max(largest, Math.abs(value - expected[l * 12 + p]));
                    assertThat(value).as("layer %d pos %d", l, p).isCloseTo(expected[l * 12 + p], within(1e-4));
                }
            }
        }
        System.out.printf("view patching --tokens vs Patching.residPre: largest difference %.2e%n", largest);

        // The answers default to the top predictions; as an image, under the trained-weights caption.
        Path png = dir.resolve("induction-patching.png");
        CliTestSupport.Result image = run("view", "patching", "--model", INDUCTION.toString(), "--tokens", clean,
                "--corrupted-tokens", corrupted, "--out", png.toString());
        assertThat(image.exitCode()).as(image.err()).isZero();
        assertThat(image.out()).contains("“#71” − “#83”");
        int width = PngExport.LEFT + 12 * PngExport.CELL + PngExport.RIGHT;
        assertImage(png, width, PngExport.TOP + 2 * PngExport.CELL + PngExport.BOTTOM,
                PngExport.captionHeight(WeightsNote.of(INDUCTION), width));
        assertThat(PngExport.description(png)).startsWith("Trained weights: Loupe trained this model for 6000 steps");

        String out = dir.resolve("x.html").toString();
        run("view", "patching", "--model", INDUCTION.toString(), "--tokens", clean, "--corrupted-tokens", "0,11",
                "--out", out).failedWithOneLine("--tokens has 12 ids but --corrupted-tokens has 2");
        run("view", "patching", "--model", INDUCTION.toString(), "--tokens", clean, "--corrupted-tokens", corrupted,
                "--answer", "x", "--out", out).failedWithOneLine("--answer \"x\" must be a token id");
        run("view", "patching", "--model", INDUCTION.toString(), "--tokens", clean, "--corrupted-tokens", corrupted,
                "--wrong", "300", "--out", out).failedWithOneLine("--wrong 300 is not a token id of this model");
        run("view", "patching", "--model", INDUCTION.toString(), "--prompt", "Hello", "--corrupted", "Hi", "--out", out)
                .failedWithOneLine("--prompt needs the model's tokenizer");
    }

    private static NDArray ids(NDManager manager, String csv) {
        long[] ids = java.util.Arrays.stream(csv.split(",")).mapToLong(Long::parseLong).toArray();
        return manager.create(ids).reshape(1, ids.length);
    }

    private static JsonNode viewData(Path page, String kind) throws Exception {
        String html = Files.readString(page);
        Matcher m = Pattern.compile("<section class=\"loupe-view\" data-kind=\"" + kind
                + "\">\\s*<h3>[^<]*</h3>\\s*<script type=\"application/json\" class=\"loupe-data\">(.*?)</script>",
                Pattern.DOTALL).matcher(html);
        assertThat(m.find()).as("a %s view in %s", kind, page).isTrue();
        return new ObjectMapper().readTree(m.group(1));
    }

    /** A PNG of GPT2_TOK: the view of {@code width x height} below the weights caption, which says Random weights. */
    private static void assertImage(Path png, int width, int height) throws Exception {
        assertImage(png, width, height, CAPTION.applyAsInt(width));
        assertThat(PngExport.description(png)).isEqualTo(WeightsNote.of(GPT2_TOK)).startsWith(WeightsNote.RANDOM);
    }

    private static void assertImage(Path png, int width, int height, int caption) throws Exception {
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(width);
        assertThat(image.getHeight()).isEqualTo(caption + height);
        int first = image.getRGB(PngExport.LEFT + 2, caption + PngExport.TOP + 2);
        boolean varies = false;
        for (int y = 0; y < height && !varies; y += 3) {
            for (int x = 0; x < width && !varies; x += 3) {
                varies = image.getRGB(x, y) != first;
            }
        }
        assertThat(varies).as("pixels vary").isTrue();
    }
}
