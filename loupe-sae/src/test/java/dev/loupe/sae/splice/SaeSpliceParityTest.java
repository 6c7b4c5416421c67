package dev.loupe.sae.splice;

import static dev.loupe.sae.testing.SaeFixtures.tolerance;
import static dev.loupe.testing.TensorAssert.assertClose;
import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.testing.Fixtures;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Every single-SAE fixture spliced into its model as SAELens's HookedSAETransformer does: the SAE's hook
 * points against SAELens's, logits with and without the error term, an ablation and a steering run.
 * Tolerance: the README's 1e-4 · max(1, max|ref|); with the error term, logits equal the clean ones to 1e-5.
 */
class SaeSpliceParityTest {
    private static final String[] SAES = SaeFixtures.SAES;
    private static SaeFixtures fixtures;

    @BeforeAll
    static void open() {
        fixtures = new SaeFixtures();
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    private static void check(String what, NDArray actual, NDArray expected) {
        double atol = tolerance(expected);
        assertClose(what, actual, expected, atol);
        System.out.printf("%s: max |diff| %.3g (atol %.3g)%n", what, maxAbsDiff(actual, expected), atol);
    }

    @ParameterizedTest
    @FieldSource("SAES")
    void splicedHookPointsAndLogitsMatchSaeLens(String name) {
        HookedTransformer model = fixtures.model(name);
        Map<String, NDArray> ref = fixtures.reference(name);
        NDArray tokens = ref.get("input_ids");
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            String hook = sae.hookName();
            NDArray clean = model.forward(tokens);
            NDArray cleanActivation;
            try (ActivationCache cleanCache = model.runWithCache(tokens)) {
                cleanActivation = cleanCache.get(hook).duplicate();
                cleanActivation.attach(fixtures.manager());
            }
            try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, List.of(sae), false)) {
                assertThat(cache.keys()).doesNotContain(hook).doesNotContain(hook + ".hook_sae_error")
                        .contains(hook + ".hook_sae_input", hook + ".hook_sae_output");
                check(name + " splice.logits", cache.logits(), ref.get("splice.logits"));
                for (String point : List.of("hook_sae_acts_pre", "hook_sae_acts_post", "hook_sae_recons")) {
                    check(name + " " + point, cache.get(hook + "." + point), ref.get("splice." + hook + "." + point));
                }
                NDArray output = ref.containsKey("splice." + hook + ".hook_sae_output")
                        ? ref.get("splice." + hook + ".hook_sae_output")
                        : ref.get("splice." + hook + ".hook_sae_recons").reshape(cleanActivation.getShape());
                check(name + " hook_sae_output", cache.get(hook + ".hook_sae_output"), output);
                NDArray flatInput = cleanActivation.reshape(cache.get(hook + ".hook_sae_input").getShape());
                check(name + " hook_sae_input", cache.get(hook + ".hook_sae_input"), flatInput);
            }
            assertClose(name + " runWithSaes equals the cached run", SaeRuns.runWithSaes(model, tokens, List.of(sae), false),
                    ref.get("splice.logits"), tolerance(ref.get("splice.logits")));
            try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, List.of(sae), true)) {
                check(name + " hook_sae_error", cache.get(hook + ".hook_sae_error"),
                        ref.get("splice_err." + hook + ".hook_sae_error"));
                assertClose(name + " error-term logits vs clean", cache.logits(), clean, 1e-5);
                System.out.printf("%s error-term logits vs clean: %.3g%n", name, maxAbsDiff(cache.logits(), clean));
            }
            NDArray hfLogits = Fixtures.readAll(Fixtures.model(name.substring(0, name.indexOf('/')))
                    .resolve("reference.safetensors"), fixtures.manager()).get("logits");
            assertClose(name + " error-term logits vs Hugging Face's", SaeRuns.runWithSaes(model, tokens, List.of(sae), true),
                    hfLogits, tolerance(hfLogits));
        }
    }

    @ParameterizedTest
    @FieldSource("SAES")
    void ablatingAndSteeringAFeatureMatchSaeLens(String name) {
        HookedTransformer model = fixtures.model(name);
        Map<String, NDArray> ref = fixtures.reference(name);
        JsonNode json = SaeFixtures.referenceJson(name);
        NDArray tokens = ref.get("input_ids");
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            String hook = sae.hookName();
            int ablated = json.path("ablation").path("feature").asInt();
            NDArray ablate = SaeRuns.runWithHooksWithSaes(model, tokens, List.of(sae), true,
                    HookSpec.forward(hook + ".hook_sae_acts_post", (acts, p) -> {
                        acts.set(new NDIndex("..., " + ablated), 0f);
                        return acts;
                    }));
            check(name + " ablate.logits", ablate, ref.get("ablate.logits"));

            int feature = json.path("steering").path("feature").asInt();
            float alpha = (float) json.path("steering").path("alpha").asDouble();
            NDArray steer = model.runWithHooks(tokens, HookSpec.forward(hook, (a, p) -> {
                NDArray direction = sae.wDec().get(feature).mul(alpha);
                return a.add(direction.reshape(a.getShape().slice(2))); // hook_z: [n_heads, d_head], head-major
            }));
            check(name + " steer.logits", steer, ref.get("steer.logits"));
        }
    }
}
