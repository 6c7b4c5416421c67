package dev.loupe.sae.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import ai.djl.ndarray.NDArray;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Feature logits against an explicit double-precision loop over the model's W_U (and, for hook_z, W_O) and the
 * SAE's W_dec. Tolerance 1e-5·(1 + |value|): float32 dot products of length 32 (128 through W_O) of values
 * below 10 round by ~1e-6; measured below.
 */
class FeatureLogitsTest {
    private static SaeFixtures fixtures;

    @BeforeAll
    static void open() {
        fixtures = new SaeFixtures();
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    /** W_dec[f] (through W_O for hook_z) · W_U, by hand. */
    private static double[] byHand(HookedTransformer model, Sae sae, int f) {
        int dModel = model.config().dModel();
        int dVocab = model.config().dVocabOut();
        float[] wU = model.stateDict().get("unembed.W_U").toFloatArray(); // [d_model, d_vocab]
        float[] wDec = sae.wDec().toFloatArray();
        int width = (int) sae.wDec().getShape().get(1);
        double[] direction = new double[dModel];
        if (sae.cfg().reshapeHookZ()) {
            float[] wO = model.stateDict().get("blocks.0.attn.W_O").toFloatArray(); // [n_heads·d_head, d_model]
            for (int i = 0; i < width; i++) {
                for (int d = 0; d < dModel; d++) {
                    direction[d] += (double) wDec[f * width + i] * wO[i * dModel + d];
                }
            }
        } else {
            for (int d = 0; d < dModel; d++) {
                direction[d] = wDec[f * width + d];
            }
        }
        double[] logits = new double[dVocab];
        for (int v = 0; v < dVocab; v++) {
            for (int d = 0; d < dModel; d++) {
                logits[v] += direction[d] * wU[d * wU.length / dModel + v];
            }
        }
        return logits;
    }

    private static double worst(float[] actual, double[] expected, double divisor) {
        double worst = 0;
        for (int v = 0; v < expected.length; v++) {
            double e = expected[v] / divisor;
            double diff = Math.abs(actual[v] - e);
            assertThat(diff).as("token " + v).isLessThanOrEqualTo(1e-5 * (1 + Math.abs(e)));
            worst = Math.max(worst, diff);
        }
        return worst;
    }

    @Test
    void featureLogitsAreTheDecoderRowTimesTheUnembedding() {
        for (String name : new String[] {"gpt2/standard_resid_pre_l0", "gpt2/jumprelu_z_l0", "gpt2/transcoder_l0"}) {
            HookedTransformer model = fixtures.model(name);
            try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
                FeatureLogits logits = FeatureLogits.of(model, sae);
                for (int f : new int[] {0, 17, 106}) {
                    double[] expected = byHand(model, sae, f);
                    float[] actual = logits.logits(f, fixtures.manager()).toFloatArray();
                    System.out.printf("%s f%d: max |diff| %.3g%n", name, f, worst(actual, expected, 1));
                    List<TokenLogit> promoted = logits.promoted(f, 5);
                    List<TokenLogit> suppressed = logits.suppressed(f, 5);
                    double max = Double.NEGATIVE_INFINITY;
                    double min = Double.POSITIVE_INFINITY;
                    for (double e : expected) {
                        max = Math.max(max, e);
                        min = Math.min(min, e);
                    }
                    assertThat((double) promoted.get(0).logit()).isCloseTo(max, offset(1e-4));
                    assertThat((double) suppressed.get(0).logit()).isCloseTo(min, offset(1e-4));
                    for (int i = 1; i < 5; i++) {
                        assertThat(promoted.get(i).logit()).isLessThanOrEqualTo(promoted.get(i - 1).logit());
                        assertThat(suppressed.get(i).logit()).isGreaterThanOrEqualTo(suppressed.get(i - 1).logit());
                        assertThat(actual[(int) promoted.get(i).token()]).isEqualTo(promoted.get(i).logit());
                    }
                }
            }
        }
    }

    @Test
    void throughTheFinalNormTheLogitsAreDividedByTheCachedScale() {
        String name = "gpt2/standard_resid_pre_l0";
        HookedTransformer model = fixtures.model(name);
        NDArray tokens = fixtures.reference(name).get("input_ids");
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager());
             ActivationCache cache = model.runWithCache(tokens)) {
            float scale = cache.get("ln_final.hook_scale").get(1, 4, 0).getFloat();
            FeatureLogits logits = FeatureLogits.throughFinalNorm(model, sae, cache, 1, 4);
            assertThat(logits.scale()).isEqualTo(scale);
            double[] expected = byHand(model, sae, 9);
            System.out.printf("scaled by %.6g: max |diff| %.3g%n", scale,
                    worst(logits.logits(9, fixtures.manager()).toFloatArray(), expected, scale));
        }
    }

    @Test
    void featuresOutsideTheSaeAndKBelowOneAreRefused() {
        String name = "gpt2/standard_resid_pre_l0";
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            FeatureLogits logits = FeatureLogits.of(fixtures.model(name), sae);
            assertThatThrownBy(() -> logits.logits(128, fixtures.manager())).isInstanceOf(LoupeException.class)
                    .hasMessageContaining("Feature 128 does not exist");
            assertThatThrownBy(() -> logits.promoted(0, 0)).isInstanceOf(LoupeException.class);
        }
    }
}
