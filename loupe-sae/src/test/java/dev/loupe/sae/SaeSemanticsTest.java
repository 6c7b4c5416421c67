package dev.loupe.sae;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.sae.format.ActivationNormalization;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.sae.format.SaeConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** SAELens's edge semantics on SAEs small enough to work out by hand. */
class SaeSemanticsTest {
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private static SaeConfig cfg(SaeArchitecture architecture, int k, ActivationNormalization norm) {
        return new SaeConfig(2, 2, "float32", "cpu", false, norm, false, null, architecture, k, false, 2);
    }

    /** Identity encoder and decoder, zero biases, and the extra tensors of {@code architecture}. */
    private Sae identity(SaeConfig cfg, float[] extra) {
        Map<String, NDArray> t = new LinkedHashMap<>();
        t.put("W_enc", manager.eye(2));
        t.put("W_dec", manager.eye(2));
        t.put("b_dec", manager.zeros(new Shape(2)));
        switch (cfg.architecture()) {
            case GATED -> {
                t.put("b_gate", manager.create(extra));
                t.put("b_mag", manager.zeros(new Shape(2)));
                t.put("r_mag", manager.zeros(new Shape(2)));
            }
            case JUMPRELU -> {
                t.put("b_enc", manager.zeros(new Shape(2)));
                t.put("threshold", manager.create(extra));
            }
            default -> t.put("b_enc", manager.zeros(new Shape(2)));
        }
        return Sae.of(cfg, t, manager);
    }

    @Test
    void jumpReluThresholdsAreStrict() {
        try (Sae sae = identity(cfg(SaeArchitecture.JUMPRELU, 0, ActivationNormalization.NONE), new float[] {1f, 1f})) {
            float[] acts = sae.encode(manager.create(new float[] {1f, 1.5f})).toFloatArray();
            assertThat(acts).containsExactly(0f, 1.5f); // a pre-activation equal to the threshold is zeroed
        }
    }

    @Test
    void aGateAtExactlyZeroIsClosed() {
        try (Sae sae = identity(cfg(SaeArchitecture.GATED, 0, ActivationNormalization.NONE), new float[] {0f, 0.5f})) {
            // gate = x + b_gate: [0, 1.5] → only the second opens; magnitudes relu(x·exp(0) + 0) = x.
            assertThat(sae.encode(manager.create(new float[] {0f, 1f})).toFloatArray()).containsExactly(0f, 1f);
            assertThat(sae.encode(manager.create(new float[] {-1f, 2f})).toFloatArray()).containsExactly(0f, 2f);
        }
    }

    @Test
    void topKAppliesReluAfterChoosingSoFewerThanKMayBeActive() {
        try (Sae sae = identity(cfg(SaeArchitecture.TOPK, 2, ActivationNormalization.NONE), null)) {
            assertThat(sae.encode(manager.create(new float[] {-1f, 3f})).toFloatArray()).containsExactly(0f, 3f);
        }
        try (Sae sae = identity(cfg(SaeArchitecture.TOPK, 1, ActivationNormalization.NONE), null)) {
            assertThat(sae.encode(manager.create(new float[] {2f, 3f})).toFloatArray()).containsExactly(0f, 3f);
        }
    }

    @Test
    void layerNormUsesTheUnbiasedStdWithEpsilonInAndNoneOut() {
        try (Sae sae = identity(cfg(SaeArchitecture.STANDARD, 0, ActivationNormalization.LAYER_NORM), null)) {
            // x = [1, 3]: μ = 2, σ (n − 1) = √2; in: [−1, 1]/(√2 + 1e-5); relu keeps the second.
            double s = Math.sqrt(2);
            float in = (float) (1 / (s + 1e-5));
            assertClose("acts", sae.encode(manager.create(new float[] {1f, 3f})), manager.create(new float[] {0f, in}), 1e-6);
            float out = (float) (in * s + 2);
            assertClose("output", sae.forward(manager.create(new float[] {1f, 3f})), manager.create(new float[] {2f, out}),
                    1e-6);
        }
    }

    @Test
    void theErrorTermMakesTheOutputTheInputPlusExactlyAnEditsEffect() {
        try (Sae sae = identity(cfg(SaeArchitecture.STANDARD, 0, ActivationNormalization.NONE), null)) {
            NDArray x = manager.create(new float[] {-1f, 2f}); // recons [0, 2], error [−1, 0]
            assertClose("no edit", sae.forward(x, SaeHooks.NONE, true), x, 0);
            SaeHooks boost = (name, a) -> name.equals(Sae.HOOK_ACTS_POST) ? a.mul(3) : a;
            assertClose("boosted", sae.forward(x, boost, true), manager.create(new float[] {-1f, 6f}), 0);
            assertClose("boosted without error", sae.forward(x, boost, false), manager.create(new float[] {0f, 6f}), 0);
        }
    }

    @Test
    void wrongInputWidthsAreRefused() {
        try (Sae sae = identity(cfg(SaeArchitecture.STANDARD, 0, ActivationNormalization.NONE), null)) {
            assertThatThrownBy(() -> sae.encode(manager.zeros(new Shape(3, 5)))).isInstanceOf(LoupeException.class)
                    .hasMessageContaining("d_in = 2, got (3, 5)");
            assertThatThrownBy(() -> sae.decode(manager.zeros(new Shape(3)))).hasMessageContaining("d_sae = 2");
        }
    }
}
