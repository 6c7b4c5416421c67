package dev.loupe.generate;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.KeyValueCache;
import dev.loupe.testing.Fixtures;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Greedy generation with and without the key/value cache against Hugging Face and TransformerLens. */
class GeneratorTest {

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt_neox", "llama", "gpt_neo", "gptj", "opt", "mistral", "qwen2", "gemma", "phi",
        "bloom", "gemma2", "gemma3_text", "qwen3", "olmo2", "phi3", "mixtral"})
    void greedyGenerationMatchesHuggingFaceAndTransformerLens(String arch) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(arch));
             NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> hf = Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager);
            // OLMo 2 has no TransformerLens dump: Hugging Face's tokens only.
            boolean hasTl = java.nio.file.Files.isDirectory(Fixtures.tl(arch));
            Map<String, NDArray> tl = hasTl
                    ? Fixtures.readAll(Fixtures.tl(arch).resolve("utils.safetensors"), manager) : Map.of();
            NDArray prompt = hf.get("input_ids").get(":, 0:6");
            GenerateOptions greedy = GenerateOptions.greedy(8).withStopAtEos(false);
            NDArray cached = Generator.generate(model, prompt, null, greedy, null);
            NDArray recomputed = Generator.generate(model, prompt, null, greedy.withUsePastKvCache(false), null);
            assertThat(cached.toLongArray()).as(arch + " with the cache").containsExactly(hf.get("greedy_tokens").toLongArray());
            assertThat(recomputed.toLongArray()).as(arch + " without").containsExactly(hf.get("greedy_tokens").toLongArray());
            if (hasTl) {
                assertThat(cached.toLongArray()).containsExactly(tl.get("generate_greedy").toLongArray());
                assertThat(recomputed.toLongArray()).containsExactly(tl.get("generate_greedy_no_kv_cache").toLongArray());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "gpt_neo", "mistral", "bloom", "gptj", "gemma2", "gemma3_text", "qwen3",
        "olmo2", "phi3", "mixtral"})
    void aCachedForwardEqualsTheFullForward(String arch) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(arch));
             NDManager manager = NDManager.newBaseManager();
             KeyValueCache cache = new KeyValueCache(model.config(), 2)) {
            NDArray tokens = Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager).get("input_ids");
            NDArray full = model.forward(tokens);
            NDArray first = model.forward(tokens.get(":, 0:9"), ForwardOptions.builder().pastKvCache(cache).build()).logits();
            NDArray rest = model.forward(tokens.get(":, 9:"), ForwardOptions.builder().pastKvCache(cache).build()).logits();
            assertClose(arch + " prefix", first, full.get(":, 0:9"), 1e-4);
            assertClose(arch + " continuation", rest, full.get(":, 9:"), 1e-4);
            assertThat(cache.length()).isEqualTo(16);
        }
    }

}
