package dev.loupe.process;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.cache.ActivationCache;
import dev.loupe.model.HookedTransformer;
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

/** fromPretrained against TransformerLens's processed state dicts and caches, for every architecture. */
class ProcessedParityTest {
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
        "bloom", "gemma2", "gemma3_text", "qwen3", "phi3", "mixtral"})
    void processedWeightsHooksAndPredictionsMatchTransformerLens(String arch) {
        Path tl = Fixtures.tl(arch);
        Map<String, NDArray> expectedWeights = Fixtures.readAll(tl.resolve("state_dict_processed.safetensors"), manager);
        Map<String, NDArray> expectedCache = Fixtures.readAll(tl.resolve("cache_processed.safetensors"), manager);
        Map<String, NDArray> hf = Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager);
        JsonNode hooks = Fixtures.json(tl.resolve("hooks.json"));
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model(arch))) {
            assertThat(model.config().normalizationType().jsonName())
                    .isEqualTo(hooks.get("cfg_processed").get("normalization_type").asText());
            int compared = 0;
            for (Map.Entry<String, NDArray> entry : expectedWeights.entrySet()) {
                NDArray ours = model.stateDict().get(entry.getKey());
                if (ours == null) {
                    // TransformerLens keeps buffers (mask, IGNORE) and, for ALiBi models, an unused W_pos.
                    assertThat(entry.getKey()).as(arch).matches(".*(\\.mask|\\.IGNORE|pos_embed\\.W_pos)");
                    continue;
                }
                assertClose(arch + " " + entry.getKey(), ours, entry.getValue(), 1e-4);
                compared++;
            }
            assertThat(model.stateDict().keySet()).as(arch + " parameters").hasSize(compared);
            List<String> order = new ArrayList<>();
            hooks.get("run_with_cache_order_processed").forEach(e -> order.add(e.get("name").asText()));
            try (ActivationCache cache = model.runWithCache(hf.get("input_ids"))) {
                assertThat(cache.keys()).containsExactlyElementsOf(order);
                for (String name : order) {
                    double atol = name.endsWith("hook_pattern") ? 5e-5 : 1e-4;
                    assertClose(arch + " " + name, cache.get(name), expectedCache.get(name), atol);
                }
                // Processed logits are Hugging Face's minus their mean over the vocabulary; log-probs are equal.
                // Under a final soft-cap the unembedding is not centred (TransformerLens neither): Hugging Face's logits.
                NDArray centred = model.config().softCapsOutputLogits() ? hf.get("logits")
                        : hf.get("logits").sub(hf.get("logits").mean(new int[] {-1}, true));
                assertClose(arch + " centred logits", cache.logits(), centred, 1e-4);
                assertClose(arch + " log-probs", cache.logits().logSoftmax(-1), hf.get("logits").logSoftmax(-1), 1e-4);
            }
            ModelOutput loss = model.forward(hf.get("input_ids"),
                    ForwardOptions.builder().returnType(ReturnType.LOSS).lossPerToken(true).build());
            assertClose(arch + " loss_per_token", loss.loss(), hf.get("loss_per_token"), 5e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tok", "olmo2", "extra/qwen2_theta", "extra/gemma_headdim", "extra/bloom_6heads",
        "extra/llama3_rope_scaling", "extra/gpt_neox_old_config", "extra/gpt2_bf16", "extra/gpt2_f16", "extra/llama_sharded"})
    void processingKeepsLogProbsAndLossesOnEveryOtherFixture(String name) {
        Map<String, NDArray> hf = Fixtures.readAll(Fixtures.model(name).resolve("reference.safetensors"), manager);
        String prefix = hf.containsKey("input_ids") ? "" : "p1.";
        NDArray tokens = hf.get(prefix + "input_ids");
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model(name))) {
            ModelOutput out = model.forward(tokens,
                    ForwardOptions.builder().returnType(ReturnType.BOTH).lossPerToken(true).build());
            assertClose(name + " log-probs", out.logits().logSoftmax(-1), hf.get(prefix + "logits").logSoftmax(-1), 1e-4);
            assertClose(name + " loss_per_token", out.loss(), hf.get(prefix + "loss_per_token"), 5e-5);
        }
    }
}
