package dev.loupe.analysis.experts;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.hook.ActName;
import dev.loupe.hook.UnknownHookException;
import dev.loupe.model.HookScope;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Reading and steering Mixtral's routing, against Hugging Face's router outputs. */
class ExpertRoutingTest {
    private static NDManager manager;
    private static HookedTransformer model;
    private static Map<String, NDArray> hf;
    private static NDArray tokens;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("mixtral"));
        hf = Fixtures.readAll(Fixtures.model("mixtral").resolve("reference.safetensors"), manager);
        tokens = hf.get("input_ids");
    }

    @AfterAll
    static void close() {
        model.close();
        manager.close();
    }

    @Test
    void readsTheRoutingHuggingFaceChose() {
        List<ExpertChoice> choices = ExpertRouting.choices(model, tokens);
        assertThat(choices).hasSize(2);
        try (ActivationCache cache = model.runWithCache(tokens)) {
            for (int l = 0; l < 2; l++) {
                ExpertChoice choice = choices.get(l);
                assertThat(choice.indices().getShape().getShape()).containsExactly(2, 16, 2);
                assertThat(choice.indices().toLongArray()).as("layer " + l)
                        .containsExactly(hf.get("router_top_k_indices." + l).toLongArray());
                assertClose("router_top_k_weights." + l, choice.weights(), hf.get("router_top_k_weights." + l), 5e-5);
                assertClose("router probabilities " + l, choice.probabilities(),
                        hf.get("router_logits." + l).softmax(-1), 5e-5);
                // The router reads ln2's output: its logits are Hugging Face's router_logits.
                NDArray ln2Out = cache.get("normalized", l, "ln2").mul(model.stateDict().get(ActName.block(l, "ln2.w")));
                NDArray logits = ln2Out.matMul(model.stateDict().get(ActName.block(l, "mlp.W_gate.weight")).transpose());
                assertClose("router_logits." + l, logits, hf.get("router_logits." + l), 1e-4);
                ExpertChoice fromCache = ExpertRouting.choice(cache, l);
                assertThat(fromCache.indices().toLongArray()).containsExactly(choice.indices().toLongArray());
                assertClose("choice from the cache " + l, fromCache.weights(), choice.weights(), 0);
            }
            ExpertChoice last = ExpertRouting.choice(cache, -1);
            assertThat(last.indices().toLongArray()).containsExactly(choices.get(1).indices().toLongArray());
        }
        ExpertChoice layer0 = choices.get(0);
        long[] row = hf.get("router_top_k_indices.0").get("1, 5").toLongArray();
        assertThat(layer0.expertsOf(1, 5)).containsExactly(row);
        float[] weights = layer0.weightsOf(1, 5);
        assertThat(weights[0] + weights[1]).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(weights[0]).isGreaterThanOrEqualTo(weights[1]);
        // Tokens per expert in layer 0, as reference.json's arch_checks counts them.
        long[] perExpert = new long[4];
        for (int e = 0; e < 4; e++) {
            perExpert[e] = layer0.routedTo(e).toType(ai.djl.ndarray.types.DataType.INT64, false).sum().getLong();
        }
        assertThat(perExpert).containsExactly(19, 19, 12, 14);
    }

    @Test
    void forcingATokenToAnExpertChangesOnlyThatTokensMlpOutput() {
        int layer = 0;
        int b = 1;
        int p = 5;
        long[] chosen = ExpertRouting.choices(model, tokens).get(layer).expertsOf(b, p);
        int expert = 0;
        while (contains(chosen, expert)) {
            expert++;
        }
        String mlpOut = ActName.of("mlp_out", layer);
        try (ActivationCache clean = model.runWithCache(tokens);
             ActivationCache forced = model.runWithCache(tokens, CacheOptions.all(),
                     List.of(ExpertRouting.force(layer, expert, b, p)))) {
            NDArray delta = forced.get(mlpOut).sub(clean.get(mlpOut)).abs().max(new int[] {-1}); // [batch, pos]
            float[] perToken = delta.toFloatArray();
            for (int i = 0; i < perToken.length; i++) {
                if (i == b * 16 + p) {
                    assertThat(perToken[i]).as("the forced token's row").isGreaterThan(1e-2f);
                } else {
                    assertThat(perToken[i]).as("token " + i + "'s row").isLessThanOrEqualTo(1e-6f);
                }
            }
            // Its MLP output is now expert `expert`'s output alone.
            NDArray x = clean.get("normalized", layer, "ln2").get(b + ", " + p)
                    .mul(model.stateDict().get(ActName.block(layer, "ln2.w"))).expandDims(0); // [1, d_model]
            String w = ActName.block(layer, "mlp.experts." + expert + ".");
            NDArray gate = x.matMul(model.stateDict().get(w + "W_gate.weight").transpose());
            NDArray up = x.matMul(model.stateDict().get(w + "W_in.weight").transpose());
            NDArray expected = gate.mul(Activation.sigmoid(gate)).mul(up)
                    .matMul(model.stateDict().get(w + "W_out.weight").transpose());
            assertClose("forced token's mlp_out", forced.get(mlpOut).get(b + ", " + p).expandDims(0), expected, 1e-5);
            ExpertChoice routing = ExpertRouting.choice(forced, layer);
            assertThat(routing.expertsOf(b, p)[0]).isEqualTo(expert);
            assertThat(routing.weightsOf(b, p)).containsExactly(1f, 0f);
            assertThat(routing.expertsOf(0, 3)).containsExactly(ExpertRouting.choice(clean, layer).expertsOf(0, 3));
            // The next layer sees the change.
            assertThat(forced.get(ActName.of("mlp_out", 1)).sub(clean.get(ActName.of("mlp_out", 1))).abs().max().getFloat())
                    .isGreaterThan(1e-3f);
        }
    }

    @Test
    void ablatingAnExpertReroutesItsTokensAsIfItDidNotExist() {
        int layer = 1;
        int expert = 0;
        String mlpOut = ActName.of("mlp_out", layer);
        try (ActivationCache clean = model.runWithCache(tokens);
             ActivationCache ablated = model.runWithCache(tokens, CacheOptions.all(),
                     List.of(ExpertRouting.ablate(layer, expert)))) {
            ExpertChoice before = ExpertRouting.choice(clean, layer);
            ExpertChoice after = ExpertRouting.choice(ablated, layer);
            assertThat(after.routedTo(expert).toBooleanArray()).doesNotContain(true);
            assertThat(ablated.get(ActName.block(layer, "mlp.experts." + expert + ".hook_gate")).getShape().getShape())
                    .containsExactly(0, 64);
            boolean[] used = before.routedTo(expert).toBooleanArray();
            NDArray delta = ablated.get(mlpOut).sub(clean.get(mlpOut)).abs().max(new int[] {-1});
            float[] perToken = delta.toFloatArray();
            NDArray probabilities = before.probabilities(); // [2, 16, 4], layer 1's input is unchanged
            for (int i = 0; i < used.length; i++) {
                int b = i / 16;
                int p = i % 16;
                if (!used[i]) {
                    assertThat(perToken[i]).as("token " + i + " never used expert " + expert).isLessThanOrEqualTo(1e-6f);
                    continue;
                }
                assertThat(perToken[i]).as("token " + i + " lost expert " + expert).isGreaterThan(1e-4f);
                // Rerouted to the two most probable of the other experts, with renormalised weights.
                float[] prob = probabilities.get(b + ", " + p).toFloatArray();
                prob[expert] = -1f;
                int first = argMax(prob);
                float firstProb = prob[first];
                prob[first] = -1f;
                int second = argMax(prob);
                assertThat(after.expertsOf(b, p)).containsExactly(first, second);
                float[] weights = after.weightsOf(b, p);
                assertThat(weights[0]).isCloseTo(firstProb / (firstProb + prob[second]),
                        org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
        // One token only: only its row changes.
        try (ActivationCache clean = model.runWithCache(tokens);
             ActivationCache ablated = model.runWithCache(tokens, CacheOptions.all(),
                     List.of(ExpertRouting.ablate(0,
                             (int) ExpertRouting.choices(model, tokens).get(0).expertsOf(0, 2)[0], 0, 2)))) {
            float[] perToken = ablated.get(ActName.of("mlp_out", 0)).sub(clean.get(ActName.of("mlp_out", 0))).abs()
                    .max(new int[] {-1}).toFloatArray();
            for (int i = 0; i < perToken.length; i++) {
                if (i == 2) {
                    assertThat(perToken[i]).isGreaterThan(1e-4f);
                } else {
                    assertThat(perToken[i]).as("token " + i).isLessThanOrEqualTo(1e-6f);
                }
            }
        }
    }

    @Test
    void routingHooksApplyAtEveryGenerationStepWithAndWithoutTheCache() {
        NDArray prompt = tokens.get(":, 0:6");
        GenerateOptions greedy = GenerateOptions.greedy(8).withStopAtEos(false);
        NDArray plain = Generator.generate(model, prompt, null, greedy, null);
        try (HookScope scope = model.hooks(ExpertRouting.force(0, 3), ExpertRouting.ablate(1, 1))) {
            NDArray cached = Generator.generate(model, prompt, null, greedy, null);
            NDArray recomputed = Generator.generate(model, prompt, null, greedy.withUsePastKvCache(false), null);
            assertThat(cached.toLongArray()).containsExactly(recomputed.toLongArray());
            assertThat(cached.toLongArray()).isNotEqualTo(plain.toLongArray());
        }
    }

    @Test
    void refusesWhatCannotBeRouted() {
        assertThatThrownBy(() -> model.runWithHooks(tokens, ExpertRouting.force(0, 4)))
                .isInstanceOf(LoupeException.class).hasMessageContaining("experts 0 to 3");
        assertThatThrownBy(() -> model.runWithHooks(tokens, ExpertRouting.force(0, 1, 2, 0)))
                .isInstanceOf(LoupeException.class).hasMessageContaining("Batch index 2");
        assertThatThrownBy(() -> model.runWithHooks(tokens, ExpertRouting.ablate(0, 1, 0, 16)))
                .isInstanceOf(LoupeException.class).hasMessageContaining("Position 16");
        assertThatThrownBy(() -> ExpertRouting.force(0, 1, 0)).isInstanceOf(LoupeException.class);
        try (HookedTransformer dense = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("llama"))) {
            assertThatThrownBy(() -> ExpertRouting.choices(dense, tokens))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("not a mixture of experts");
            assertThatThrownBy(() -> dense.runWithHooks(tokens, ExpertRouting.force(0, 1)))
                    .isInstanceOf(UnknownHookException.class);
            assertThatThrownBy(() -> dense.runWithHooks(tokens, ExpertRouting.force(0, 1, 0, 3)))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("Block 0 has no mixture of experts");
        }
    }

    @Test
    void denseMlpViewsSayWhereAnExpertsWeightsAre() {
        assertThatThrownBy(() -> model.W_in(manager)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("mlp.experts.E.W_in.weight");
        try (ActivationCache cache = model.runWithCache(tokens)) {
            assertThatThrownBy(() -> cache.neuronResults(0, null)).isInstanceOf(LoupeException.class)
                    .hasMessageContaining("mixture of experts");
            // The decomposition by MLP outputs needs no neurons: it still sums to the residual stream.
            NDArray total = cache.fullResidDecomposition(dev.loupe.cache.StackOptions.defaults(), false).stack()
                    .sum(new int[] {0});
            assertClose("components sum to resid_post", total, cache.get("resid_post", -1), 1e-5);
        }
        assertThat(model.W_Q(manager).getShape().getShape()).containsExactly(2, 4, 32, 8);
    }

    @Test
    void gradientsFlowThroughTheRouterAndTheExperts() {
        try (ActivationCache cache = model.runWithCache(tokens, CacheOptions.all().withGradients())) {
            for (String name : List.of("blocks.0.mlp.hook_expert_weights", "blocks.0.mlp.experts.2.hook_post",
                    "blocks.1.mlp.experts.0.hook_gate")) {
                NDArray gradient = cache.get(name + "_grad");
                assertThat(gradient.getShape()).isEqualTo(cache.get(name).getShape());
                assertThat(gradient.abs().sum().getFloat()).as(name).isPositive();
            }
            // Which experts were chosen is discrete: it has no gradient.
            assertThat(cache.containsKey("blocks.0.mlp.hook_expert_indices_grad")).isFalse();
        }
    }

    private static boolean contains(long[] values, long value) {
        return Arrays.stream(values).anyMatch(v -> v == value);
    }

    private static int argMax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
