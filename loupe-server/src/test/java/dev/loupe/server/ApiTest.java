package dev.loupe.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.analysis.heads.DetectionPattern;
import dev.loupe.analysis.heads.HeadDetector;
import dev.loupe.analysis.patching.PatchMetric;
import dev.loupe.analysis.patching.Patching;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.hook.HookSpec;
import dev.loupe.lens.PredictionTrajectory;
import dev.loupe.model.HookScope;
import dev.loupe.server.explore.ServedModel;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.train.toy.RepeatHalves;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The JSON API over real HTTP on loopback, each answer compared with the Java API it translates, on
 * the shipped induction model and testdata's gpt2-tok (with its tuned lens).
 */
class ApiTest {
    static final Path INDUCTION = Fixtures.ROOT.getParent().resolve("models/induction-2l");
    static final String PROMPT = "The quick brown fox jumps over the lazy dog";

    private static ServedModel induction;
    private static ServedModel gpt;
    private static LoupeServer server;
    private static Http http;

    @BeforeAll
    static void start() {
        induction = ServedModel.load(INDUCTION, null);
        gpt = ServedModel.load(Fixtures.model("gpt2-tok"), Fixtures.ROOT.resolve("lens"));
        server = LoupeServer.start(List.of(induction, gpt), ServerOptions.loopback(0));
        http = new Http(server, null);
    }

    @AfterAll
    static void stop() {
        server.close();
        gpt.close();
        induction.close();
    }

    /** BOS, 1..n, 1..n: a sequence the induction circuit predicts in its second half. */
    static long[] repeated(int n) {
        long[] ids = new long[1 + 2 * n];
        for (int i = 1; i <= n; i++) {
            ids[i] = 7 + 11L * i % 290;
            ids[n + i] = ids[i];
        }
        return ids;
    }

    static Map<String, Object> tokens(long[] ids) {
        return Map.of("tokens", ids);
    }

    @Test
    void modelsListsEachServedModelAndTheLimits() {
        JsonNode models = Http.parse(http.get("/api/v1/models").body());
        assertThat(models.get("models").findValuesAsText("name")).containsExactly("induction-2l", "gpt2-tok");
        assertThat(models.get("models").get(0).get("tokenizer").asBoolean()).isFalse();
        assertThat(models.get("models").get(1).get("tunedLens").asBoolean()).isTrue();
        assertThat(models.get("limits").get("maxPromptTokens").asInt()).isEqualTo(256);
        assertThat(Http.parse(http.get("/api").body()).get("paths").has("/api/v1/patch")).isTrue();
    }

    @Test
    void tokenizeGivesTheTokenizersIds() {
        JsonNode answer = http.ok("tokenize", Map.of("model", "gpt2-tok", "prompt", Map.of("text", PROMPT)));
        long[] expected = gpt.model().textEncoder().encode(PROMPT, TextOptions.defaults());
        assertThat(longs(answer.get("tokens"))).containsExactly(expected);
        assertThat(answer.get("strings").get(1).asText()).isEqualTo("The");
    }

    @Test
    void runGivesTheModelsLossPerTokenAndTopPrediction() {
        JsonNode run = http.ok("run", Map.of("model", "gpt2-tok", "prompt", Map.of("text", PROMPT), "topK", 3));
        long[] ids = longs(run.get("tokens"));
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, ids.length);
            float[] loss = gpt.model().loss(tokens, true).toFloatArray();
            NDArray logits = gpt.model().forward(tokens);
            for (int p = 0; p < loss.length; p++) {
                assertThat(run.get("loss").get(p).floatValue()).isCloseTo(loss[p], within(1e-5f));
            }
            for (int p = 0; p < ids.length; p++) {
                long top = logits.get(new NDIndex(0, p)).argMax().getLong();
                assertThat(run.get("top").get(p).get(0).get("id").asLong()).isEqualTo(top);
                assertThat(run.get("top").get(p)).hasSize(3);
            }
        }
        assertThat(run.get("halves").isNull()).isTrue();
    }

    @Test
    void trajectoryHasTheLogitAndTheTunedLensAsPredictionTrajectoryComputesThem() {
        JsonNode answer = http.ok("trajectory", Map.of("model", "gpt2-tok", "prompt", Map.of("text", PROMPT), "target",
                262));
        long[] ids = longs(answer.get("tokens"));
        JsonNode tuned = answer.get("lenses").get(1);
        assertThat(answer.get("lenses").get(0).get("lens").asText()).isEqualTo("logit lens");
        assertThat(tuned.get("lens").asText()).isEqualTo("tuned lens");
        try (NDManager manager = NDManager.newBaseManager()) {
            PredictionTrajectory expected = PredictionTrajectory.compute(gpt.tunedLens(), gpt.model(),
                    manager.create(ids).reshape(1, ids.length), 262L, 5, List.of());
            for (int row = 0; row < expected.entropy().length; row++) {
                for (int p = 0; p < ids.length; p++) {
                    assertThat(tuned.get("entropy").get(row).get(p).floatValue())
                            .isCloseTo(expected.entropy()[row][p], within(1e-5f));
                    assertThat(tuned.get("klToFinal").get(row).get(p).floatValue())
                            .isCloseTo(expected.klToFinal()[row][p], within(1e-5f));
                    assertThat(tuned.get("targetRank").get(row).get(p).asInt()).isEqualTo(expected.targetRank()[row][p]);
                }
            }
            // The output row's cross-entropy is the model's own loss per token.
            float[] loss = gpt.model().loss(manager.create(ids).reshape(1, ids.length), true).toFloatArray();
            JsonNode output = tuned.get("crossEntropy").get(expected.entropy().length - 1);
            for (int p = 0; p < loss.length; p++) {
                assertThat(output.get(p).floatValue()).isCloseTo(loss[p], within(1e-4f));
            }
        }
    }

    @Test
    void attentionPatternsAndHeadScoresAreTheCacheAndTheHeadDetectors() {
        long[] ids = repeated(20);
        JsonNode answer = http.ok("attention", Map.of("prompt", tokens(ids)));
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, ids.length);
            float[][] scores = HeadDetector.detectHead(induction.model(), tokens, DetectionPattern.INDUCTION, null,
                    HeadDetector.Options.defaults().withExcludeBos(true));
            JsonNode served = answer.get("scores").get("induction_head");
            for (int l = 0; l < scores.length; l++) {
                for (int h = 0; h < scores[l].length; h++) {
                    assertThat(served.get(l).get(h).floatValue()).isCloseTo(scores[l][h], within(1e-6f));
                }
            }
            try (ActivationCache cache = induction.model().runWithCache(tokens,
                    CacheOptions.matching("blocks\\.1\\.attn\\.hook_pattern"))) {
                float expected = cache.get("blocks.1.attn.hook_pattern").getFloat(0, 2, 30, 11);
                assertThat(answer.get("patterns").get(1).get(2).get(30).get(11).floatValue()).isEqualTo(expected);
            }
        }
    }

    @Test
    void zeroAblatingAnInductionHeadRaisesTheRepeatedHalfsLossAsRepeatHalvesMeasuresIt() {
        long[] ids = repeated(20);
        int head = strongestInductionHead(ids);
        JsonNode answer = http.ok("intervene", Map.of("prompt", tokens(ids), "interventions",
                List.of(Map.of("kind", "zero", "target", "head", "layer", 1, "head", head))));
        HookSpec zero = HookSpec.forward("blocks.1.attn.hook_z", (z, point) -> {
            z.set(new NDIndex(":, :, {}", head), 0f);
            return z;
        });
        RepeatHalves clean = RepeatHalves.measure(induction.model(), ids, 1, List.of());
        RepeatHalves ablated = RepeatHalves.measure(induction.model(), ids, 1, List.of(zero));
        assertThat(answer.get("clean").get("halves").get("repeatedHalf").asDouble()).isCloseTo(clean.repeatedHalf(),
                within(1e-5));
        assertThat(answer.get("intervened").get("halves").get("repeatedHalf").asDouble())
                .isCloseTo(ablated.repeatedHalf(), within(1e-5));
        assertThat(ablated.repeatedHalf()).isGreaterThan(clean.repeatedHalf() + 0.5);
    }

    @Test
    void ablatingTheResidualStreamAtOnePositionLeavesEveryEarlierPredictionAlone() {
        long[] ids = repeated(10);
        for (String kind : List.of("zero", "mean")) {
            JsonNode answer = http.ok("intervene", Map.of("prompt", tokens(ids), "interventions",
                    List.of(Map.of("kind", kind, "target", "resid", "layer", 1, "position", 8))));
            JsonNode clean = answer.get("clean").get("loss");
            JsonNode ablated = answer.get("intervened").get("loss");
            for (int p = 0; p < 8; p++) {
                assertThat(ablated.get(p).floatValue()).isCloseTo(clean.get(p).floatValue(), within(1e-5f));
            }
            assertThat(ablated.get(8).floatValue()).isNotCloseTo(clean.get(8).floatValue(), within(1e-3f));
        }
    }

    @Test
    void patchingMapsEqualPatchingsAndACellIsItsPatchedRun() {
        String clean = "The capital of France is";
        String corrupted = "The capital of Spain is";
        for (String target : List.of("resid_pre", "heads", "mlp_out")) {
            JsonNode map = http.ok("patch", Map.of("model", "gpt2-tok", "clean", Map.of("text", clean), "corrupted",
                    Map.of("text", corrupted), "target", target));
            long answer = map.get("answer").asLong();
            long wrong = map.get("wrong").asLong();
            try (NDManager manager = NDManager.newBaseManager()) {
                NDArray a = gpt.model().toTokens(clean, manager);
                NDArray b = gpt.model().toTokens(corrupted, manager);
                try (ActivationCache cache = gpt.model().runWithCache(a)) {
                    PatchMetric metric = PatchMetric.logitDiff(answer, wrong);
                    float[] expected = switch (target) {
                        case "resid_pre" -> Patching.residPre(gpt.model(), b, cache, metric).toFloatArray();
                        case "mlp_out" -> Patching.mlpOut(gpt.model(), b, cache, metric).toFloatArray();
                        default -> Patching.attnHeadOutAllPos(gpt.model(), b, cache, metric).toFloatArray();
                    };
                    List<Float> served = new ArrayList<>();
                    map.get("values").forEach(row -> row.forEach(v -> served.add(v.floatValue())));
                    assertThat(served).hasSize(expected.length);
                    for (int i = 0; i < expected.length; i++) {
                        assertThat(served.get(i)).as(target + " cell " + i).isCloseTo(expected[i], within(1e-4f));
                    }
                }
            }
            JsonNode cell = http.ok("patch/cell", Map.of("model", "gpt2-tok", "clean", Map.of("text", clean), "corrupted",
                    Map.of("text", corrupted), "target", target, "layer", 1, "column", 2));
            assertThat(cell.get("value").floatValue()).isCloseTo(map.get("values").get(1).get(2).floatValue(),
                    within(1e-4f));
            JsonNode last = cell.get("run").get("top").get(cell.get("run").get("top").size() - 1);
            assertThat(last.get(0).get("prob").floatValue()).isBetween(0f, 1f);
        }
    }

    @Test
    void directLogitAttributionsAddUpToTheAnswersLogitDifference() {
        long[] ids = repeated(10);
        JsonNode dla = http.ok("attribution", Map.of("prompt", tokens(ids), "answer", 42, "wrong", 17));
        float sum = 0;
        for (JsonNode v : dla.get("components")) {
            sum += v.floatValue();
        }
        // induction-2l is served with TransformerLens's processing (ln_final folded, W_U centred), under which the
        // decomposition's attributions sum to the logit difference less the unembedding bias's.
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray logits = induction.model().forward(manager.create(ids).reshape(1, ids.length)).get(new NDIndex(0, -1));
            NDArray bias = induction.model().stateDict().get("unembed.b_U");
            float expected = logits.getFloat(42) - bias.getFloat(42) - (logits.getFloat(17) - bias.getFloat(17));
            assertThat(sum).isCloseTo(expected, within(1e-4f));
        }
        float heads = 0;
        for (JsonNode row : dla.get("heads")) {
            for (JsonNode v : row) {
                heads += v.floatValue();
            }
        }
        assertThat(dla.get("heads")).hasSize(2);
        assertThat(dla.get("heads").get(0)).hasSize(4);
        assertThat(heads).isNotZero();
        assertThat(dla.get("componentLabels").get(0).asText()).isEqualTo("embed");
    }

    @Test
    void generationStreamsTheTokensGeneratorGivesWithAndWithoutAnAblation() {
        long[] ids = repeated(12);
        int head = strongestInductionHead(ids);
        HookSpec zero = HookSpec.forward("blocks.1.attn.hook_z", (z, point) -> {
            z.set(new NDIndex(":, :, {}", head), 0f);
            return z;
        });
        for (boolean ablate : new boolean[] {false, true}) {
            Map<String, Object> body = ablate ? Map.of("prompt", tokens(ids), "maxNewTokens", 10, "interventions",
                    List.of(Map.of("kind", "zero", "target", "head", "layer", 1, "head", head)))
                    : Map.of("prompt", tokens(ids), "maxNewTokens", 10);
            HttpResponse<String> response = http.post("generate", Http.json(body));
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            String[] lines = response.body().split("\n");
            assertThat(lines).hasSize(11);
            long[] streamed = new long[10];
            for (int i = 0; i < 10; i++) {
                streamed[i] = Http.parse(lines[i]).get("id").asLong();
            }
            long[] all = longs(Http.parse(lines[10]).get("tokens"));
            long[] expected;
            try (NDManager manager = NDManager.newBaseManager();
                    HookScope scope = induction.model().hooks(ablate ? List.of(zero) : List.of())) {
                expected = Generator.generate(induction.model(), manager.create(ids).reshape(1, ids.length), null,
                        GenerateOptions.greedy(10).withUsePastKvCache(false).withStopAtEos(false), null).toLongArray();
            }
            assertThat(all).containsExactly(expected);
            assertThat(Arrays.copyOfRange(expected, ids.length, expected.length)).containsExactly(streamed);
        }
    }

    @Test
    void thePageAndItsAssetsCarryAStrictContentSecurityPolicy() {
        for (String path : List.of("/", "/app.js", "/app.css")) {
            HttpResponse<String> response = http.get(path);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.headers().firstValue("Content-Security-Policy")).hasValue(ExplorerHandler.CSP);
        }
        assertThat(http.get("/").body()).doesNotContain("<script>").doesNotContain("style=");
        HttpResponse<String> head = http.send(http.request("/").method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(head.statusCode()).isEqualTo(200);
    }

    private static int strongestInductionHead(long[] ids) {
        try (NDManager manager = NDManager.newBaseManager()) {
            float[][] scores = HeadDetector.detectHead(induction.model(), manager.create(ids).reshape(1, ids.length),
                    DetectionPattern.INDUCTION, null, HeadDetector.Options.defaults().withExcludeBos(true));
            int best = 0;
            for (int h = 1; h < scores[1].length; h++) {
                best = scores[1][h] > scores[1][best] ? h : best;
            }
            return best;
        }
    }

    static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
