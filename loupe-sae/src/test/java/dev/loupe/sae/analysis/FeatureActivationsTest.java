package dev.loupe.sae.analysis;

import static dev.loupe.sae.testing.SaeFixtures.tolerance;
import static dev.loupe.testing.TensorAssert.assertClose;
import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import ai.djl.ndarray.NDArray;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Feature activations of prompts against SAELens's {@code run_with_cache_with_saes} (gpt2 fixtures: one SAE, and the
 * three SAEs of {@code gpt2/multi} at once, with and without the error term), to the README's 1e-4·max(1, max|ref|);
 * top features against a sort of SAELens's activations.
 */
class FeatureActivationsTest {
    private static final String MULTI = "gpt2/multi";
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

    @Test
    void oneSaesActivationsAreSaeLensAndItsTopFeaturesAreSorted() {
        String name = "gpt2/standard_resid_pre_l0";
        Map<String, NDArray> ref = fixtures.reference(name);
        NDArray expected = ref.get("splice.blocks.0.hook_resid_pre.hook_sae_acts_post");
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            for (boolean errorTerm : new boolean[] {false, true}) {
                try (FeatureActivations features = FeatureActivations.of(fixtures.model(name), ref.get("input_ids"),
                        List.of(sae), errorTerm)) {
                    check(name + " error term " + errorTerm, features.get(sae), expected);
                    assertThat(features.strTokens()).as("the fixture model has no tokenizer").isNull();
                    float[] row = expected.get(1, 7).toFloatArray();
                    List<TopFeature> top = features.topFeatures(sae, 1, 7, 5);
                    assertThat(top).hasSize(5);
                    List<Integer> bySaeLens = new ArrayList<>();
                    for (int f = 0; f < row.length; f++) {
                        bySaeLens.add(f);
                    }
                    bySaeLens.sort((a, b) -> Float.compare(row[b], row[a]));
                    assertThat(top.stream().map(TopFeature::feature).toList()).isEqualTo(bySaeLens.subList(0, 5));
                    for (TopFeature t : top) {
                        assertThat((double) t.value()).isCloseTo(row[t.feature()], offset(1e-4));
                    }
                }
            }
        }
    }

    @Test
    void severalSaesAtOnceAreSaeLensWithAndWithoutTheErrorTerm() {
        Map<String, NDArray> ref = fixtures.reference(MULTI);
        List<Sae> saes = new ArrayList<>();
        for (var entry : SaeFixtures.referenceJson(MULTI).path("saes")) {
            saes.add(Sae.load(SaeFixtures.saeDir(entry.asText()), fixtures.manager()));
        }
        try {
            HookedTransformer model = fixtures.model(MULTI);
            for (boolean errorTerm : new boolean[] {false, true}) {
                try (FeatureActivations features = FeatureActivations.of(model, ref.get("input_ids"), saes, errorTerm)) {
                    for (Sae sae : saes) {
                        String key = (errorTerm ? "splice_err." : "splice.") + FeatureActivations.actsPostName(sae);
                        check(MULTI + " " + key, features.get(sae), ref.get(key));
                    }
                }
            }
        } finally {
            saes.forEach(Sae::close);
        }
    }

    @Test
    void aTextsActivationsComeWithItsTokenStrings() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
             Sae sae = Sae.load(SaeFixtures.saeDir("gpt2/standard_resid_pre_l0"), fixtures.manager());
             FeatureActivations features = FeatureActivations.of(model, "The cat sat on the mat", List.of(sae), true,
                     fixtures.manager())) {
            List<String> strTokens = model.toStrTokens("The cat sat on the mat");
            assertThat(features.strTokens()).containsExactly(strTokens);
            assertThat(features.get(sae).getShape().getShape()).containsExactly(1, strTokens.size(), 128);
            try (NDArray tokens = model.toTokens("The cat sat on the mat", fixtures.manager());
                 FeatureActivations again = FeatureActivations.of(model, tokens, List.of(sae), true)) {
                assertThat(maxAbsDiff(again.get(sae), features.get(sae))).isZero();
            }
        }
    }

    @Test
    void topFeaturesBreakTiesByIndexAndRefuseBadPositions() {
        NDArray values = fixtures.manager().create(new float[] {0f, 2f, 2f, 1f, 2f, -1f}).reshape(1, 1, 6);
        assertThat(TopFeature.of(values, 0, 0, 4)).containsExactly(new TopFeature(1, 2f), new TopFeature(2, 2f),
                new TopFeature(4, 2f), new TopFeature(3, 1f));
        assertThat(TopFeature.of(values, 0, 0, 10)).hasSize(6).last().isEqualTo(new TopFeature(5, -1f));
        assertThatThrownBy(() -> TopFeature.of(values, 0, 1, 3)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("outside");
        assertThatThrownBy(() -> TopFeature.of(values, 0, 0, 0)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("k must be");
    }
}
