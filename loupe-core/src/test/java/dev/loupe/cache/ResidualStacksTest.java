package dev.loupe.cache;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.hook.ActName;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ReturnType;
import dev.loupe.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The cache's residual-stream analyses against TransformerLens's {@code utils.safetensors}, and their identities. */
class ResidualStacksTest {
    private static final double ATOL = 1e-4;
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
    void matchesTransformerLens(String arch) {
        Map<String, NDArray> utils = Fixtures.readAll(Fixtures.tl(arch).resolve("utils.safetensors"), manager);
        JsonNode labels = Fixtures.json(Fixtures.tl(arch).resolve("meta.json")).get("utils_labels");
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model(arch))) {
            check(arch, model, utils, labels, "");
        }
        if (utils.containsKey("noproc.accumulated_resid")) {
            try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(arch))) {
                check(arch + " unprocessed", model, utils, labels, "noproc.");
            }
        }
    }

    private static void check(String what, HookedTransformer model, Map<String, NDArray> utils, JsonNode labels,
            String prefix) {
        NDArray tokens = utils.get("input_ids");
        try (ActivationCache cache = model.runWithCache(tokens)) {
            LabelledStack accumulated = cache.accumulatedResid(StackOptions.defaults().withApplyLn(true));
            assertClose(what + " accumulated_resid", accumulated.stack(), utils.get(prefix + "accumulated_resid"), ATOL);
            assertThat(accumulated.labels()).containsExactlyElementsOf(strings(labels.get(prefix + "accumulated_resid")));
            assertClose(what + " accumulated_resid raw", cache.accumulatedResid(StackOptions.defaults()).stack(),
                    utils.get(prefix + "accumulated_resid_raw"), ATOL);
            LabelledStack decomposed = cache.decomposeResid(StackOptions.defaults().withApplyLn(true));
            assertClose(what + " decompose_resid", decomposed.stack(), utils.get(prefix + "decompose_resid"), ATOL);
            assertThat(decomposed.labels()).containsExactlyElementsOf(strings(labels.get(prefix + "decompose_resid")));
            LabelledStack heads = cache.stackHeadResults(StackOptions.defaults().withApplyLn(true));
            assertClose(what + " stack_head_results", heads.stack(), utils.get(prefix + "stack_head_results"), ATOL);
            assertThat(heads.labels()).containsExactlyElementsOf(strings(labels.get(prefix + "stack_head_results")));
            // TransformerLens's logit lens is unembed(ln_final(·)), before any final soft-cap (Gemma 2).
            NDArray lens = accumulated.stack().matMul(model.stateDict().get("unembed.W_U"))
                    .add(model.stateDict().get("unembed.b_U"));
            assertClose(what + " logit_lens", lens, utils.get(prefix + "logit_lens"), ATOL);
        }
        NDArray loss = model.forward(tokens,
                ForwardOptions.builder().returnType(ReturnType.LOSS).lossPerToken(true).build()).loss();
        assertClose(what + " loss_per_token", loss, utils.get(prefix + "loss_per_token"), 5e-5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "gpt_neox", "llama", "gpt_neo", "gptj", "opt", "mistral", "qwen2", "gemma", "phi",
        "bloom", "gemma2", "gemma3_text", "qwen3", "olmo2", "phi3", "mixtral", "gpt2-tok",
        "extra/qwen2_theta", "extra/gemma_headdim", "extra/bloom_6heads", "extra/llama3_rope_scaling",
        "extra/gpt_neox_old_config", "extra/gpt2_bf16", "extra/gpt2_f16", "extra/llama_sharded"})
    void componentsSumToTheResidual(String name) {
        Map<String, NDArray> reference = Fixtures.readAll(Fixtures.model(name).resolve("reference.safetensors"), manager);
        NDArray tokens = reference.containsKey("input_ids") ? reference.get("input_ids") : reference.get("p1.input_ids");
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model(name));
             ActivationCache cache = model.runWithCache(tokens)) {
            int n = model.config().nLayers();
            NDArray total = cache.get("resid_post", -1);
            assertClose(name + " decompose_resid sums to the residual",
                    cache.decomposeResid(StackOptions.defaults()).stack().sum(new int[] {0}), total, 1e-5);
            for (int l = 0; l < n; l++) {
                NDArray heads = cache.headResults(l).sum(new int[] {2}).add(model.stateDict().get(ActName.block(l, "attn.b_O")));
                // With a norm after attention, attn_out is that norm of the heads' sum, not the sum itself.
                NDArray attnOut = cache.get("attn_out", l);
                if (model.config().hasPostNorms()) {
                    heads = heads.div(cache.get(ActName.of("scale", l, "ln1_post")));
                    attnOut = cache.get(ActName.of("normalized", l, "ln1_post"));
                }
                assertClose(name + " heads + b_O = attn_out " + l, heads, attnOut, 1e-5);
            }
            LabelledStack withRemainder = cache.stackHeadResults(StackOptions.defaults().withInclRemainder(true));
            assertThat(withRemainder.labels()).endsWith("remainder");
            assertClose(name + " heads + remainder", withRemainder.stack().sum(new int[] {0}), total, 1e-5);
            assertThat(cache.stackActivation("pattern").getShape().get(0)).isEqualTo(n);
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(v -> values.add(v.asText()));
        return values;
    }
}
