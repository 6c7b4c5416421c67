package dev.loupe.sae.splice;

import static dev.loupe.sae.testing.SaeFixtures.tolerance;
import static dev.loupe.testing.TensorAssert.assertClose;
import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.cache.ActivationCache;
import dev.loupe.model.HookScope;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Three SAEs spliced at once (later ones see activations computed from earlier ones' outputs), and the
 * transcoder spliced as a replacement of the MLP output, against SAELens's references (README tolerance).
 */
class MultiSaeAndTranscoderTest {
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

    private static List<Sae> load(JsonNode names) {
        List<Sae> saes = new ArrayList<>();
        names.forEach(n -> saes.add(Sae.load(SaeFixtures.saeDir(n.asText()), fixtures.manager())));
        return saes;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2/multi", "llama/multi"})
    void severalSaesAtOnceMatchSaeLens(String name) {
        HookedTransformer model = fixtures.model(name);
        Map<String, NDArray> ref = fixtures.reference(name);
        NDArray tokens = ref.get("input_ids");
        List<Sae> saes = load(SaeFixtures.referenceJson(name).get("saes"));
        try {
            try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, saes, false)) {
                check(name + " splice.logits", cache.logits(), ref.get("splice.logits"));
                for (Sae sae : saes) {
                    for (String point : List.of("hook_sae_acts_post", "hook_sae_recons")) {
                        String key = sae.hookName() + "." + point;
                        check(name + " splice." + key, cache.get(key), ref.get("splice." + key));
                    }
                }
            }
            try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, saes, true)) {
                for (Sae sae : saes) {
                    for (String point : List.of("hook_sae_acts_post", "hook_sae_recons", "hook_sae_error")) {
                        String key = sae.hookName() + "." + point;
                        check(name + " splice_err." + key, cache.get(key), ref.get("splice_err." + key));
                    }
                }
                NDArray clean = model.forward(tokens);
                assertClose(name + " error-term logits vs clean", cache.logits(), clean, 1e-5);
                System.out.printf("%s error-term logits vs clean: %.3g%n", name, maxAbsDiff(cache.logits(), clean));
            }
        } finally {
            saes.forEach(Sae::close);
        }
    }

    @Test
    void aScopeKeepsSaesAttachedAcrossRuns() {
        String name = "gpt2/multi";
        HookedTransformer model = fixtures.model(name);
        Map<String, NDArray> ref = fixtures.reference(name);
        NDArray tokens = ref.get("input_ids");
        List<Sae> saes = load(SaeFixtures.referenceJson(name).get("saes"));
        NDArray clean = model.forward(tokens);
        try (HookScope scope = SaeRuns.withSaes(model, saes, false)) {
            assertClose("first run", model.forward(tokens), ref.get("splice.logits"), tolerance(ref.get("splice.logits")));
            assertClose("second run", model.forward(tokens), ref.get("splice.logits"), tolerance(ref.get("splice.logits")));
        } finally {
            saes.forEach(Sae::close);
        }
        assertThat(maxAbsDiff(model.forward(tokens), clean)).as("after the scope").isZero();
    }

    @Test
    void aTranscoderReplacesTheMlpOutputComputedFromTheMlpInput() {
        String name = "gpt2/transcoder_l0";
        HookedTransformer model = fixtures.model(name);
        Map<String, NDArray> ref = fixtures.reference(name);
        NDArray tokens = ref.get("input_ids");
        try (Sae transcoder = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            String out = transcoder.cfg().hookNameOut();
            assertThat(out).isEqualTo("blocks.0.hook_mlp_out");
            check(name + " feature_acts", transcoder.encode(ref.get("sae_in")), ref.get("feature_acts"));
            check(name + " sae_out", transcoder.forward(ref.get("sae_in")), ref.get("sae_out"));
            try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, List.of(transcoder), false)) {
                assertThat(cache.keys()).doesNotContain(out).contains("blocks.0.ln2.hook_normalized");
                check(name + " sae_in", cache.get(out + ".hook_sae_input"), ref.get("sae_in"));
                check(name + " hidden_pre", cache.get(out + ".hook_sae_acts_pre"), ref.get("hidden_pre"));
                check(name + " feature_acts (spliced)", cache.get(out + ".hook_sae_acts_post"), ref.get("feature_acts"));
                check(name + " sae_out (spliced)", cache.get(out + ".hook_sae_recons"), ref.get("sae_out"));
                check(name + " transcoder_splice.logits", cache.logits(), ref.get("transcoder_splice.logits"));
            }
            try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, List.of(transcoder), true)) {
                check(name + " error = target - sae_out", cache.get(out + ".hook_sae_error"),
                        ref.get("target").sub(ref.get("sae_out")));
                NDArray clean = model.forward(tokens);
                assertClose(name + " error-term logits vs clean", cache.logits(), clean, 1e-5);
                System.out.printf("%s error-term logits vs clean: %.3g%n", name, maxAbsDiff(cache.logits(), clean));
            }
        }
    }
}
