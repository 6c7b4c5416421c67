package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.cache.ActivationCache;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.TinyGpt2;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GPT-2 against Hugging Face's outputs and TransformerLens's unprocessed cache, with the fixtures'
 * tolerances: 1e-4 for logits and residuals, 5e-5 for patterns and losses, masked scores exactly -inf.
 */
class Gpt2ParityTest {
    private static final double LOGITS_ATOL = 1e-4;
    private static final double PATTERN_ATOL = 5e-5;
    private static final double LOSS_ATOL = 5e-5;

    private static TinyGpt2 gpt2;
    private static HookedTransformer model;
    private static NDManager manager;
    private static Map<String, NDArray> hf;

    @BeforeAll
    static void load() {
        gpt2 = TinyGpt2.open();
        model = gpt2.model();
        manager = gpt2.manager();
        hf = gpt2.reference();
    }

    @AfterAll
    static void close() {
        gpt2.close();
    }

    @Test
    void logitsMatchHuggingFace() {
        assertClose("logits", model.forward(hf.get("input_ids")), hf.get("logits"), LOGITS_ATOL);
    }

    @Test
    void everyHiddenStateAndAttentionPatternMatchesHuggingFace() {
        try (ActivationCache cache = model.runWithCache(hf.get("input_ids"))) {
            int n = model.config().nLayers();
            for (int i = 0; i < n; i++) {
                assertClose("hidden_states." + i, cache.get("resid_pre", i), hf.get("hidden_states." + i), LOGITS_ATOL);
                assertClose("attentions." + i, cache.get("pattern", i), hf.get("attentions." + i), PATTERN_ATOL);
            }
            // Hugging Face's last hidden state is after the final norm: the unembedding's input.
            assertClose("hidden_states." + n, cache.get("unembed.hook_in"), hf.get("hidden_states." + n), LOGITS_ATOL);
            assertClose("final_norm_input", cache.get("resid_post", -1), hf.get("final_norm_input"), LOGITS_ATOL);
        }
    }

    @Test
    void perTokenLossMatchesHuggingFace() {
        ModelOutput out = model.forward(hf.get("input_ids"),
                ForwardOptions.builder().returnType(ReturnType.LOSS).lossPerToken(true).build());
        assertClose("loss_per_token", out.loss(), hf.get("loss_per_token"), LOSS_ATOL);
        NDArray mean = model.loss(hf.get("input_ids"));
        assertThat((double) mean.getFloat()).isCloseTo(hf.get("loss_per_token").mean().getFloat(),
                org.assertj.core.data.Offset.offset(LOSS_ATOL));
    }

    @Test
    void everyHookMatchesTransformerLensInOrderNameAndValue() {
        Map<String, NDArray> tl = Fixtures.readAll(Fixtures.tl("gpt2").resolve("cache_unprocessed.safetensors"), manager);
        JsonNode order = Fixtures.json(Fixtures.tl("gpt2").resolve("hooks.json")).get("run_with_cache_order_unprocessed");
        List<String> expectedOrder = new ArrayList<>();
        order.forEach(entry -> expectedOrder.add(entry.get("name").asText()));
        try (ActivationCache cache = model.runWithCache(hf.get("input_ids"))) {
            assertThat(cache.keys()).containsExactlyElementsOf(expectedOrder);
            for (String name : expectedOrder) {
                NDArray expected = tl.get(name);
                double atol = name.endsWith("hook_pattern") ? PATTERN_ATOL : LOGITS_ATOL;
                assertClose(name, cache.get(name), expected, atol);
            }
            NDArray scores = cache.get("blocks.0.attn.hook_attn_scores");
            assertThat(scores.get(0, 0, 0, 1).getFloat()).isEqualTo(Float.NEGATIVE_INFINITY);
        }
    }

    @Test
    void hookNamesAndShapesFollowTransformerLens() {
        JsonNode hooks = Fixtures.json(Fixtures.tl("gpt2").resolve("hooks.json"));
        List<String> registered = new ArrayList<>();
        hooks.get("hook_dict_order").forEach(n -> registered.add(n.asText()));
        model.setUseAttnResult(true);
        model.setUseSplitQkvInput(true);
        model.setUseAttnIn(true);
        model.setUseHookMlpIn(true);
        try {
            assertThat(model.hookNames()).containsExactlyElementsOf(registered);
        } finally {
            model.setUseAttnResult(false);
            model.setUseSplitQkvInput(false);
            model.setUseAttnIn(false);
            model.setUseHookMlpIn(false);
        }
        Map<String, Shape> shapes = model.hookShapes(2, 16);
        hooks.get("run_with_cache_order_unprocessed").forEach(entry -> {
            long[] dims = new long[entry.get("shape").size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = entry.get("shape").get(i).asLong();
            }
            assertThat(shapes.get(entry.get("name").asText())).as(entry.get("name").asText()).isEqualTo(new Shape(dims));
        });
    }

    @Test
    void realVocabularyGpt2MatchesHuggingFaceOnThreePrompts() {
        try (HookedTransformer tok = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"))) {
            Map<String, NDArray> ref = Fixtures.readAll(Fixtures.model("gpt2-tok").resolve("reference.safetensors"), manager);
            for (int k = 0; k < 3; k++) {
                String p = "p" + k + ".";
                try (ActivationCache cache = tok.runWithCache(ref.get(p + "input_ids"))) {
                    assertClose(p + "logits", cache.logits(), ref.get(p + "logits"), LOGITS_ATOL);
                    for (int l = 0; l < 2; l++) {
                        assertClose(p + "attentions." + l, cache.get("pattern", l), ref.get(p + "attentions." + l), PATTERN_ATOL);
                        assertClose(p + "hidden_states." + l, cache.get("resid_pre", l), ref.get(p + "hidden_states." + l),
                                LOGITS_ATOL);
                    }
                }
                ModelOutput loss = tok.forward(ref.get(p + "input_ids"),
                        ForwardOptions.builder().returnType(ReturnType.LOSS).lossPerToken(true).build());
                assertClose(p + "loss_per_token", loss.loss(), ref.get(p + "loss_per_token"), LOSS_ATOL);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"extra/gpt2_bf16", "extra/gpt2_f16"})
    void halfPrecisionCheckpointsAreWidenedExactly(String name) {
        try (HookedTransformer half = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(name))) {
            Map<String, NDArray> ref = Fixtures.readAll(Fixtures.model(name).resolve("reference.safetensors"), manager);
            assertClose(name + " logits", half.forward(ref.get("input_ids")), ref.get("logits"), LOGITS_ATOL);
        }
    }
}
