package dev.loupe.lens;

import static dev.loupe.testing.TensorAssert.assertClose;
import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Lenses read every architecture the model core loads, through that model's own final norm and unembedding. */
class LensEveryArchitectureTest {
    /** Logits (testdata/FIXTURES.md, "Tolerances"). */
    private static final double ATOL = 1e-4;

    static String[] architectures() {
        return LensFixtures.ARCHITECTURES;
    }

    @ParameterizedTest
    @MethodSource("architectures")
    void theLogitLensOfTheLastLayerIsTheModelsOutputAndAnUntrainedTunedLensIsTheLogitLens(String arch) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(arch));
             NDManager manager = NDManager.newBaseManager();
             TunedLens untrained = TunedLens.create(model)) {
            NDArray tokens = Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager)
                    .get("input_ids");
            LogitLens logitLens = LogitLens.of(model);
            try (LensInputs inputs = LensInputs.run(model, tokens)) {
                NDArray lensOfFinal = logitLens.forward(inputs.finalResidual());
                if (model.config().softCapsOutputLogits()) {
                    // The logit lens reads out before the final soft-cap (as TransformerLens's unembed(ln_final(·))).
                    float cap = (float) model.config().outputLogitsSoftCap();
                    assertThat(maxAbsDiff(lensOfFinal, inputs.logits())).as(arch + ": before the cap").isGreaterThan(0.1);
                    lensOfFinal = lensOfFinal.div(cap).tanh().mul(cap);
                }
                assertClose(arch + ": logit lens of the final residual", lensOfFinal, inputs.logits(), ATOL);
                for (int layer = 0; layer < model.config().nLayers(); layer++) {
                    NDArray h = inputs.hidden(layer);
                    // Zero translators: h + 0·h + 0 is h exactly.
                    assertThat(maxAbsDiff(untrained.forward(h, layer), logitLens.forward(h, layer)))
                            .as("%s layer %d", arch, layer).isZero();
                }
            }
            assertThat(untrained.config().unembedFingerprint()).isEqualTo(Unembedding.of(model).fingerprint());
        }
    }

    @ParameterizedTest
    @MethodSource("architectures")
    void aLensCanReadResidMidWhereTheBlocksHaveOne(String arch) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(arch));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager)
                    .get("input_ids");
            if (!model.config().hasResidMid()) {
                assertThatThrownBy(() -> TunedLens.create(model, LensHook.RESID_MID, true))
                        .isInstanceOf(LoupeException.class).hasMessageContaining("no resid_mid");
                return;
            }
            try (TunedLens mid = TunedLens.create(model, LensHook.RESID_MID, true);
                 LensInputs inputs = LensInputs.run(model, tokens, null, LensHook.RESID_MID, java.util.List.of())) {
                assertThat(mid.config().hook()).isEqualTo(LensHook.RESID_MID);
                NDArray h = inputs.hidden(1);
                assertThat(maxAbsDiff(h, inputs.cache().get("blocks.1.hook_resid_mid"))).isZero();
                assertThat(maxAbsDiff(mid.forward(h, 1), LogitLens.of(model).forward(h))).isZero();
            }
        }
    }
}
