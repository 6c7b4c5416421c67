package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.cache.ActivationCache;
import dev.loupe.config.PositionalEmbeddingType;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every fixture architecture against Hugging Face's outputs and TransformerLens's unprocessed cache,
 * and the extra variants against Hugging Face, with the fixtures' tolerances: 1e-4 for logits and
 * residuals, 5e-5 for patterns and per-token losses, masked scores exactly -inf.
 */
class ArchitectureParityTest {
    private static final double LOGITS_ATOL = 1e-4;
    private static final double PATTERN_ATOL = 5e-5;
    private static final double LOSS_ATOL = 5e-5;

    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt_neox", "llama", "gpt_neo", "gptj", "opt", "mistral", "qwen2", "gemma", "phi",
        "bloom", "gemma2", "gemma3_text", "qwen3", "olmo2", "phi3", "mixtral",
        "extra/qwen2_theta", "extra/gemma_headdim", "extra/bloom_6heads", "extra/llama3_rope_scaling",
        "extra/gpt_neox_old_config", "extra/gpt2_bf16", "extra/gpt2_f16", "extra/llama_sharded"})
    void matchesHuggingFace(String name) {
        Path dir = Fixtures.model(name);
        Map<String, NDArray> hf = Fixtures.readAll(dir.resolve("reference.safetensors"), manager);
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir);
             ActivationCache cache = model.runWithCache(hf.get("input_ids"))) {
            int n = model.config().nLayers();
            assertClose(name + " logits", cache.logits(), hf.get("logits"), LOGITS_ATOL);
            for (int l = 0; l < n; l++) {
                assertClose(name + " hidden_states." + l, cache.get("resid_pre", l), hf.get("hidden_states." + l), LOGITS_ATOL);
                assertClose(name + " attentions." + l, cache.get("pattern", l), hf.get("attentions." + l), PATTERN_ATOL);
            }
            assertClose(name + " hidden_states." + n, cache.get("unembed.hook_in"), hf.get("hidden_states." + n), LOGITS_ATOL);
            assertClose(name + " final_norm_input", cache.get("resid_post", -1), hf.get("final_norm_input"), LOGITS_ATOL);
            ModelOutput loss = model.forward(hf.get("input_ids"),
                    ForwardOptions.builder().returnType(ReturnType.LOSS).lossPerToken(true).build());
            assertClose(name + " loss_per_token", loss.loss(), hf.get("loss_per_token"), LOSS_ATOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt_neox", "llama", "gpt_neo", "gptj", "opt", "mistral", "qwen2", "gemma", "phi",
        "bloom", "gemma2", "gemma3_text", "qwen3", "phi3", "mixtral"})
    void everyHookMatchesTransformerLens(String arch) {
        Path tl = Fixtures.tl(arch);
        Map<String, NDArray> expected = Fixtures.readAll(tl.resolve("cache_unprocessed.safetensors"), manager);
        JsonNode hooks = Fixtures.json(tl.resolve("hooks.json"));
        List<String> order = new ArrayList<>();
        hooks.get("run_with_cache_order_unprocessed").forEach(entry -> order.add(entry.get("name").asText()));
        NDArray tokens = Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager).get("input_ids");
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(arch));
             ActivationCache cache = model.runWithCache(tokens)) {
            assertThat(cache.keys()).as(arch + " firing order").containsExactlyElementsOf(order);
            for (String name : order) {
                double atol = name.endsWith("hook_pattern") ? PATTERN_ATOL : LOGITS_ATOL;
                assertClose(arch + " " + name, cache.get(name), expected.get(name), atol);
            }
            model.setUseAttnResult(true);
            model.setUseSplitQkvInput(true);
            model.setUseHookMlpIn(true);
            if (!model.config().groupedQueryAttention()) {
                model.setUseAttnIn(true);
            }
            List<String> registered = new ArrayList<>();
            hooks.get("hook_dict_order").forEach(n -> {
                // TransformerLens registers hook_pos_embed for ALiBi models too, where it never fires.
                boolean neverFires = n.asText().equals("hook_pos_embed")
                        && model.config().positionalEmbeddingType() == PositionalEmbeddingType.ALIBI;
                boolean gqaAttnIn = n.asText().endsWith("hook_attn_in") && model.config().groupedQueryAttention();
                if (!neverFires && !gqaAttnIn) {
                    registered.add(n.asText());
                }
            });
            assertThat(model.hookNames()).as(arch + " registration order").containsExactlyElementsOf(registered);
        }
    }
}
