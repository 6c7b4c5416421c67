package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.StackOptions;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.config.WeightProcessingStep;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.RandomModels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the second wave (Gemma 2, Gemma 3, Qwen3, OLMo 2) adds beyond the parity lists: the hooks'
 * declared shapes against TransformerLens's, OLMo 2's own hook names, flags that must not change the
 * logits, the processing each family records, and their configs.
 */
class SecondWaveArchitecturesTest {
    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static NDArray tokens(String arch) {
        return Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager).get("input_ids");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3_text", "qwen3"})
    void declaredHookShapesAreTransformerLenss(String arch) {
        JsonNode hooks = Fixtures.json(Fixtures.tl(arch).resolve("hooks.json"));
        Map<String, Shape> expected = new LinkedHashMap<>();
        hooks.get("run_with_cache_order_unprocessed").forEach(entry -> {
            List<Long> dims = new ArrayList<>();
            entry.get("shape").forEach(d -> dims.add(d.asLong()));
            expected.put(entry.get("name").asText(), new Shape(dims.stream().mapToLong(Long::longValue).toArray()));
        });
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(arch))) {
            assertThat(model.hookShapes(2, 16)).containsExactlyInAnyOrderEntriesOf(expected);
        }
    }

    @Test
    void olmo2FiresItsPostNormsAndWholeProjectionQkNormsInOrder() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("olmo2"));
             ActivationCache cache = model.runWithCache(tokens("olmo2"))) {
            List<String> block0 = cache.keys().stream().filter(n -> n.startsWith("blocks.0.")).toList();
            assertThat(block0).containsExactly("blocks.0.hook_resid_pre", "blocks.0.attn.hook_q", "blocks.0.attn.hook_k",
                    "blocks.0.attn.hook_v", "blocks.0.attn.q_norm.hook_scale", "blocks.0.attn.q_norm.hook_normalized",
                    "blocks.0.attn.k_norm.hook_scale", "blocks.0.attn.k_norm.hook_normalized", "blocks.0.attn.hook_rot_q",
                    "blocks.0.attn.hook_rot_k", "blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern",
                    "blocks.0.attn.hook_z", "blocks.0.ln1_post.hook_scale", "blocks.0.ln1_post.hook_normalized",
                    "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid", "blocks.0.mlp.hook_pre",
                    "blocks.0.mlp.hook_pre_linear", "blocks.0.mlp.hook_post", "blocks.0.ln2_post.hook_scale",
                    "blocks.0.ln2_post.hook_normalized", "blocks.0.hook_mlp_out", "blocks.0.hook_resid_post");
            assertThat(model.hookNames()).doesNotContain("blocks.0.ln1.hook_scale", "blocks.0.ln2.hook_scale")
                    .startsWith("hook_embed", "blocks.0.ln1_post.hook_scale", "blocks.0.ln1_post.hook_normalized",
                            "blocks.0.ln2_post.hook_scale", "blocks.0.ln2_post.hook_normalized",
                            "blocks.0.attn.q_norm.hook_scale");
            assertThat(cache.get("blocks.0.attn.q_norm.hook_normalized").getShape()).isEqualTo(new Shape(2, 16, 32));
            assertThat(cache.get("blocks.0.attn.k_norm.hook_scale").getShape()).isEqualTo(new Shape(2, 16, 1));
            model.hookShapes(2, 16).forEach((name, shape) -> assertThat(cache.get(name).getShape()).as(name).isEqualTo(shape));
            // The q norm spans every head of a position: its normalized output has unit RMS over all of them.
            NDArray normalized = cache.get("blocks.0.attn.q_norm.hook_normalized");
            assertClose("unit RMS", normalized.square().mean(new int[] {-1}).sqrt(), manager.ones(new Shape(2, 16)), 1e-3);
            // There is no norm before the blocks to apply to a stack of components.
            assertThatThrownBy(() -> cache.decomposeResid(StackOptions.defaults().withApplyLn(true).withLayer(1)))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("no norm before attention");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3_text", "qwen3", "olmo2"})
    void everyFlagAddsHooksWithTheirDeclaredShapesButKeepsTheLogits(String arch) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(arch))) {
            assertEveryFlagKeepsTheLogits(model, tokens(arch), 1e-4);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma", "olmo"})
    void ungroupedKeysGoThroughTheKeyNormAsTheirGroups(String family) {
        TransformerConfig cfg = family.equals("gemma") ? RandomModels.gemmaLikeConfig() : RandomModels.olmoLikeConfig();
        assertThat(cfg.groupedQueryAttention()).isTrue();
        try (HookedTransformer model = new HookedTransformer(cfg, RandomModels.stateDict(cfg, manager),
                manager.newSubManager())) {
            assertEveryFlagKeepsTheLogits(model,
                    manager.create(new long[][] {{0, 5, 9, 3, 5, 9, 3, 1}, {2, 2, 7, 30, 11, 4, 0, 39}}),
                    1e-5);
        }
    }

    private static void assertEveryFlagKeepsTheLogits(HookedTransformer model, NDArray tokens, double atol) {
        NDArray plain = model.forward(tokens);
        model.setUseAttnResult(true);
        model.setUseSplitQkvInput(true);
        model.setUseHookMlpIn(true);
        model.setUngroupGroupedQueryAttention(true);
        try (ActivationCache cache = model.runWithCache(tokens)) {
            assertClose("logits with every flag", cache.logits(), plain, atol);
            long batch = tokens.getShape().get(0);
            long pos = tokens.getShape().get(1);
            assertThat(cache.keys()).containsExactlyInAnyOrderElementsOf(model.hookShapes(batch, pos).keySet());
            model.hookShapes(batch, pos).forEach((name, shape) ->
                    assertThat(cache.get(name).getShape()).as(name).isEqualTo(shape));
        } finally {
            model.setUseAttnResult(false);
            model.setUseSplitQkvInput(false);
            model.setUseHookMlpIn(false);
            model.setUngroupGroupedQueryAttention(false);
        }
    }

    @ParameterizedTest
    @CsvSource({
        "gemma2,      fold_ln fold_value_biases",
        "gemma3_text, fold_ln center_unembed fold_value_biases",
        "qwen3,       fold_ln center_unembed fold_value_biases",
        "olmo2,       fold_ln center_unembed fold_value_biases",
    })
    void processingRecordsWhatItAppliedAndKeepsPostAndQkNorms(String arch, String steps) {
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model(arch))) {
            TransformerConfig cfg = model.config();
            assertThat(cfg.weightProcessing().stream().map(WeightProcessingStep::jsonName).toList())
                    .containsExactly(steps.split(" "));
            assertThat(cfg.normalizationType()).isEqualTo(NormalizationType.RMS_PRE);
            Map<String, NDArray> sd = model.stateDict();
            assertThat(sd).doesNotContainKeys("ln_final.w", "blocks.0.ln1.w", "blocks.0.ln2.w");
            assertThat(sd.containsKey("blocks.1.ln2_post.w")).isEqualTo(cfg.hasPostNorms());
            assertThat(sd.containsKey("blocks.1.attn.k_norm.w")).isEqualTo(cfg.useQkNorm());
        }
    }

    @ParameterizedTest
    @CsvSource({"gemma2, true", "gemma3_text, true", "qwen3, false", "olmo2, false"})
    void prependsBosByDefaultAsTransformerLensDoes(String arch, boolean bos) {
        assertThat(dev.loupe.load.ModelLoader.config(Fixtures.model(arch)).defaultPrependBos()).isEqualTo(bos);
    }

    @Test
    void theSoftCapsBite() {
        // reference.json's arch_checks: without the final cap the logits move by 3.1, without the attention cap by 0.22.
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gemma2"));
             ActivationCache cache = model.runWithCache(tokens("gemma2"))) {
            NDArray uncapped = cache.get("unembed.hook_out");
            float cap = (float) model.config().outputLogitsSoftCap();
            assertThat(cap).isEqualTo(5f);
            assertThat(maxAbsDiff(uncapped, cache.logits())).isGreaterThan(1);
            assertClose("capped", uncapped.div(cap).tanh().mul(cap), cache.logits(), 1e-5);
            NDArray scores = cache.get("blocks.1.attn.hook_attn_scores");
            NDArray finite = ai.djl.ndarray.NDArrays.where(scores.isInfinite(), scores.zerosLike(), scores);
            assertThat(finite.abs().max().getFloat()).isLessThan(10f).isGreaterThan(1f);
        }
    }
}
