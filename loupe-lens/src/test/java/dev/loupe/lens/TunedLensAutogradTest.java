package dev.loupe.lens;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.GradientCollector;
import dev.loupe.model.HookedTransformer;
import dev.loupe.numeric.Autograd;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** What a trainer needs: the forward pass differentiates into the translators' live parameters. */
class TunedLensAutogradTest {

    @Test
    void theKlLossHasTheGradientFiniteDifferencesGive() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(LensFixtures.BASE_MODEL);
             TunedLens lens = TunedLens.load(LensFixtures.LENS, model);
             NDManager manager = NDManager.newBaseManager();
             LensInputs inputs = LensInputs.run(model, model.toTokens("Paris is the capital of", manager))) {
            NDArray h = inputs.hidden(0).duplicate();
            NDArray target = inputs.logits().duplicate();
            Supplier<Float> loss = () -> {
                try (NDManager scratch = NDManager.newBaseManager()) {
                    NDArray x = h.get(scratch, new NDIndex());
                    return LensStats.klDivergence(target.get(scratch, new NDIndex()), lens.forward(x, 0)).mean().getFloat();
                }
            };
            NDArray weightGradient;
            NDArray biasGradient;
            Autograd.lock().lock();
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                lens.weight(0).setRequiresGradient(true);
                lens.bias(0).setRequiresGradient(true);
                NDArray kl = LensStats.klDivergence(target, lens.forward(h, 0)).mean();
                collector.backward(kl);
                weightGradient = lens.weight(0).getGradient().duplicate();
                biasGradient = lens.bias(0).getGradient().duplicate();
            } finally {
                Autograd.lock().unlock();
            }
            assertThat(weightGradient.abs().sum().getFloat()).isPositive();
            assertThat(lens.weight(1).hasGradient()).isFalse();
            // Central differences on a few bias entries (float32 loss, so a loose relative check).
            float eps = 1e-2f;
            float[] bias = lens.bias(0).toFloatArray();
            float[] grad = biasGradient.toFloatArray();
            for (int j : new int[] {0, 7, 31}) {
                float[] plus = bias.clone();
                plus[j] += eps;
                float[] minus = bias.clone();
                minus[j] -= eps;
                lens.bias(0).set(plus);
                float up = loss.get();
                lens.bias(0).set(minus);
                float down = loss.get();
                lens.bias(0).set(bias);
                float numeric = (up - down) / (2 * eps);
                assertThat((double) grad[j]).as("d loss / d b[%d]", j)
                        .isCloseTo(numeric, org.assertj.core.data.Offset.offset(2e-3 + 0.02 * Math.abs(numeric)));
            }
        }
    }
}
