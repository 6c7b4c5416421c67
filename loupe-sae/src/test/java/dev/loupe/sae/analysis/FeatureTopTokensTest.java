package dev.loupe.sae.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.testing.SaeFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * W_dec[f]·W_U against the whole product sorted by brute force (hook_z: W_dec[f] reshaped [n_heads, d_head] times
 * the layer's W_O summed over heads, as TransformerLens would take it to the residual stream): the same tokens in the
 * same order, values to 1e-5 (measured: at most 2.4e-7, hook_z).
 */
class FeatureTopTokensTest {
    private static SaeFixtures fixtures;

    @BeforeAll
    static void open() {
        fixtures = new SaeFixtures();
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2/standard_resid_pre_l0", "gpt2/jumprelu_z_l0", "gpt2/transcoder_l0"})
    void promotedAndSuppressedTokensEqualTheSortedProduct(String name) {
        HookedTransformer model = fixtures.model(name);
        int[] features = {0, 5, 77, 127};
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager());
             NDManager manager = NDManager.newBaseManager()) {
            List<FeatureTopTokens> logits = FeatureLogits.of(model, sae).topTokens(features, 7);
            NDArray wDec = sae.wDec().get(manager, new NDIndex());
            if (sae.cfg().reshapeHookZ()) {
                NDArray wO = model.stateDict().get("blocks.0.attn.W_O").get(manager, new NDIndex()); // [h, d_head, d_model]
                wDec = wDec.reshape(wDec.getShape().get(0), 4, -1).expandDims(-1).mul(wO.expandDims(0)).sum(new int[] {1, 2});
            }
            NDArray product = wDec.matMul(model.stateDict().get("unembed.W_U").get(manager, new NDIndex()));
            int vocab = (int) product.getShape().get(1);
            float[] all = product.toFloatArray();
            double worst = 0;
            for (int i = 0; i < features.length; i++) {
                int f = features[i];
                FeatureTopTokens actual = logits.get(i);
                assertThat(actual.feature()).isEqualTo(f);
                Comparator<Integer> byValue = Comparator.comparingDouble(t -> all[f * vocab + t]);
                List<Integer> up = IntStream.range(0, vocab).boxed()
                        .sorted(byValue.reversed().thenComparing(Comparator.naturalOrder())).limit(7).toList();
                List<Integer> down = IntStream.range(0, vocab).boxed()
                        .sorted(byValue.thenComparing(Comparator.naturalOrder())).limit(7).toList();
                assertThat(actual.promotedTokens()).as(name + " feature " + f + " promoted")
                        .containsExactly(up.stream().mapToLong(Integer::longValue).toArray());
                assertThat(actual.suppressedTokens()).as(name + " feature " + f + " suppressed")
                        .containsExactly(down.stream().mapToLong(Integer::longValue).toArray());
                for (int k = 0; k < 7; k++) {
                    worst = Math.max(worst, Math.abs(actual.promoted()[k] - all[f * vocab + up.get(k)]));
                    worst = Math.max(worst, Math.abs(actual.suppressed()[k] - all[f * vocab + down.get(k)]));
                }
                assertThat(actual.promoted()[0]).isGreaterThan(0);
                assertThat(actual.suppressed()[0]).isLessThan(0);
            }
            System.out.printf("%s: largest logit difference %.3g%n", name, worst);
            assertThat(worst).isLessThanOrEqualTo(1e-5);
        }
    }

    @Test
    void anSaeOutsideTheResidualStreamIsRefused(@TempDir Path dir) throws Exception {
        // The fixture SAE's config moved to the MLP's hidden layer (d_mlp 128), with weights of that width.
        String name = "gpt2/standard_resid_pre_l0";
        String cfg = Files.readString(SaeFixtures.saeDir(name).resolve("cfg.json")).replace("\"d_in\": 32", "\"d_in\": 128")
                .replace("blocks.0.hook_resid_pre", "blocks.0.mlp.hook_post");
        Files.writeString(dir.resolve("cfg.json"), cfg);
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(dir.resolve("sae_weights.safetensors"), Map.of(
                    "W_enc", manager.randomNormal(new Shape(128, 128)), "W_dec", manager.randomNormal(new Shape(128, 128)),
                    "b_enc", manager.zeros(new Shape(128)), "b_dec", manager.zeros(new Shape(128))));
        }
        try (Sae mlp = Sae.load(dir, fixtures.manager())) {
            assertThat(FeatureLogits.readable(fixtures.model(name), mlp)).isFalse();
            assertThatThrownBy(() -> FeatureLogits.of(fixtures.model(name), mlp))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("this SAE at blocks.0.mlp.hook_post writes"
                            + " width 128");
        }
        try (Sae sae = Sae.load(SaeFixtures.saeDir(name), fixtures.manager())) {
            assertThat(FeatureLogits.readable(fixtures.model(name), sae)).isTrue();
            assertThatThrownBy(() -> FeatureLogits.of(fixtures.model(name), sae).topTokens(new int[] {128}, 5))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("Feature 128 does not exist");
            assertThatThrownBy(() -> FeatureLogits.of(fixtures.model(name), sae).topTokens(new int[] {1}, 0))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("at least one");
        }
    }
}
