package dev.loupe.lens;

import static dev.loupe.testing.TensorAssert.assertClose;
import static dev.loupe.testing.TensorAssert.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lens the Python tuned-lens library trained and saved (testdata/lens), loaded from its own
 * files, against the library's outputs on "Paris is the capital of" (reference.safetensors).
 */
class TunedLensParityTest extends LensReferenceTest {

    @TempDir
    Path dir;

    @Test
    void logitLensTunedLensAndKlMatchThePythonLibraryAtEveryLayer() {
        LogitLens logitLens = LogitLens.of(model);
        try (TunedLens tuned = TunedLens.load(LensFixtures.LENS, model);
             LensInputs inputs = LensInputs.run(model, reference.get("input_ids"))) {
            assertThat(tuned.numLayers()).isEqualTo(2);
            assertClose("final_logits", inputs.logits(), reference.get("final_logits"), ATOL);
            NDArray finalLogits = reference.get("final_logits");
            for (int layer = 0; layer < 2; layer++) {
                NDArray h = inputs.hidden(layer);
                assertClose("hidden_states." + layer, h, reference.get("hidden_states." + layer), ATOL);
                assertClose("logit_lens." + layer, logitLens.forward(h, layer), reference.get("logit_lens." + layer), ATOL);
                assertClose("tuned_hidden." + layer, tuned.transformHidden(h, layer),
                        reference.get("tuned_hidden." + layer), ATOL);
                NDArray tunedLogits = tuned.forward(h, layer);
                assertClose("tuned_lens." + layer, tunedLogits, reference.get("tuned_lens." + layer), ATOL);
                assertClose("kl_logit_lens[" + layer + "]", LensStats.klDivergence(finalLogits, logitLens.forward(h, layer)),
                        reference.get("kl_logit_lens").get(layer), KL_ATOL);
                assertClose("kl_tuned_lens[" + layer + "]", LensStats.klDivergence(finalLogits, tunedLogits),
                        reference.get("kl_tuned_lens").get(layer), KL_ATOL);
            }
            // The last hidden state is HF's after ln_f: the final norm of our final residual.
            assertClose("hidden_states.2", model.applyFinalNorm(inputs.finalResidual()), reference.get("hidden_states.2"), ATOL);
        }
    }

    @Test
    void allLayersAtOnceAndNegativeLayersGiveTheSameLogits() {
        try (TunedLens tuned = TunedLens.load(LensFixtures.LENS, model);
             LensInputs inputs = LensInputs.run(model, reference.get("input_ids"))) {
            NDArray all = tuned.forwardAll(inputs.hiddenAll()); // [layer, batch, pos, vocab]
            assertThat(all.getShape().getShape()).containsExactly(2, 1, 6, 50257);
            for (int layer = 0; layer < 2; layer++) {
                assertClose("forwardAll[" + layer + "]", all.get(layer), reference.get("tuned_lens." + layer), ATOL);
            }
            assertThat(maxAbsDiff(tuned.forward(inputs.hidden(-1), -1), tuned.forward(inputs.hidden(1), 1))).isZero();
            assertThat(maxAbsDiff(tuned.weight(-2), tuned.weight(0))).isZero();
        }
    }

    @Test
    void theSafetensorsCopyOfTheParametersLoadsTheSameLens() throws IOException {
        Files.copy(LensFixtures.LENS.resolve("config.json"), dir.resolve("config.json"));
        Files.copy(LensFixtures.LENS.resolve("params.safetensors"), dir.resolve("params.safetensors"));
        try (TunedLens fromPt = TunedLens.load(LensFixtures.LENS, model);
             TunedLens fromSafetensors = TunedLens.load(dir, model)) {
            for (Map.Entry<String, NDArray> entry : fromPt.stateDict().entrySet()) {
                assertThat(fromSafetensors.stateDict().get(entry.getKey()).toFloatArray()).as(entry.getKey())
                        .containsExactly(entry.getValue().toFloatArray());
            }
        }
    }

    @Test
    void thePythonConfigIsReadWithItsHashKeptAndNoFingerprint() {
        try (TunedLens tuned = TunedLens.load(LensFixtures.LENS, model)) {
            TunedLensConfig config = tuned.config();
            assertThat(config.baseModelNameOrPath()).isEqualTo("models/gpt2-tok");
            assertThat(config.dModel()).isEqualTo(32);
            assertThat(config.bias()).isTrue();
            assertThat(config.unembedHash()).startsWith("1d79517f");
            assertThat(config.unembedFingerprint()).isNull();
            assertThat(config.basis().isHuggingFace()).isTrue();
            assertThat(config.hook()).isEqualTo(LensHook.RESID_PRE);
        }
    }
}
