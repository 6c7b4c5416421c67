package dev.loupe.viz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenDisplay;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The logit lens trajectory against a plain-Java computation from Hugging Face's hidden states and logits. */
class LensTrajectoryTest {
    private static final int POS = 11;

    @Test
    void everyCellMatchesAnIndependentComputation() {
        long[] ids = Reference.longs("p1.input_ids");
        HookedTransformer model = SharedModels.gpt2Tok();
        TrajectoryData trajectory = LensTrajectory.logitLens(model, ids, 5);
        assertThat(trajectory.lens()).isEqualTo("logit lens");
        assertThat(trajectory.layers()).containsExactly("layer 0", "layer 1", "output");
        assertThat(trajectory.tokens()).hasSize(POS).startsWith("<|endoftext|>", "The", "␣quick");

        float[] unembed = model.stateDict().get("unembed.W_U").toFloatArray();
        float[] bias = model.stateDict().get("unembed.b_U").toFloatArray();
        float[] lnW = model.stateDict().get("ln_final.w").toFloatArray();
        float[] lnB = model.stateDict().get("ln_final.b").toFloatArray();
        float[] hfLogits = Reference.floats("p1.logits");
        String[] residuals = {"p1.hidden_states.0", "p1.hidden_states.1", "p1.final_norm_input"};
        for (int pos : new int[] {0, 4, POS - 1}) {
            double[] finalLogProbs = Reference.logSoftmax(toDoubles(
                    Arrays.copyOfRange(hfLogits, pos * Reference.VOCAB, (pos + 1) * Reference.VOCAB)));
            for (int layer = 0; layer < 3; layer++) {
                float[] hidden = Reference.floats(residuals[layer]);
                float[] x = Arrays.copyOfRange(hidden, pos * Reference.D_MODEL, (pos + 1) * Reference.D_MODEL);
                double[] logProbs = layer == 2 ? finalLogProbs
                        : Reference.logSoftmax(lens(x, lnW, lnB, unembed, bias));
                TrajectoryData.Cell cell = trajectory.cells().get(layer).get(pos);
                double entropy = 0;
                double kl = 0;
                for (int v = 0; v < Reference.VOCAB; v++) {
                    entropy -= Math.exp(logProbs[v]) * logProbs[v];
                    kl += Math.exp(finalLogProbs[v]) * (finalLogProbs[v] - logProbs[v]);
                }
                int top = Reference.argmax(logProbs);
                String where = "layer " + layer + ", pos " + pos;
                assertThat(cell.topTokens().get(0)).as(where)
                        .isEqualTo(TokenDisplay.display(model.toSingleStrToken(top)));
                assertThat((double) cell.topProb()).as(where).isCloseTo(Math.exp(logProbs[top]), within(1e-5));
                assertThat((double) cell.entropy()).as(where).isCloseTo(entropy, within(1e-3));
                assertThat((double) cell.klToFinal()).as(where).isCloseTo(kl, within(1e-3));
                assertThat(cell.topTokens()).hasSize(5);
                float[] probs = cell.topProbs();
                for (int i = 1; i < probs.length; i++) {
                    assertThat(probs[i]).isLessThanOrEqualTo(probs[i - 1]);
                }
            }
            assertThat(trajectory.cells().get(2).get(pos).klToFinal()).isCloseTo(0f, within(1e-5f));
            assertThat(trajectory.cells().get(0).get(pos).klToFinal()).as("the embeddings are far from the output")
                    .isGreaterThan(0.01f);
        }
    }

    @Test
    void aCacheWithoutTheResidualStreamIsRefusedWithTheFix() {
        HookedTransformer model = SharedModels.gpt2Tok();
        try (ai.djl.ndarray.NDManager manager = ai.djl.ndarray.NDManager.newBaseManager();
                var cache = model.runWithCache(manager.create(new long[] {50256, 464}).reshape(1, 2),
                        dev.loupe.cache.CacheOptions.matching(".*hook_pattern"))) {
            assertThatThrownBy(() -> LensTrajectory.fromCache(model, dev.loupe.lens.LogitLens.of(model), cache, 0,
                    new long[] {50256, 464}, 3))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("The cache has no blocks.0.hook_resid_pre");
        }
    }

    /** ln_final then the unembedding, in double precision. */
    private static double[] lens(float[] x, float[] w, float[] b, float[] unembed, float[] bias) {
        double mean = 0;
        for (float v : x) {
            mean += v;
        }
        mean /= x.length;
        double variance = 0;
        for (float v : x) {
            variance += (v - mean) * (v - mean);
        }
        double scale = Math.sqrt(variance / x.length + 1e-5);
        double[] logits = new double[Reference.VOCAB];
        for (int v = 0; v < Reference.VOCAB; v++) {
            double sum = bias[v];
            for (int d = 0; d < x.length; d++) {
                sum += ((x[d] - mean) / scale * w[d] + b[d]) * unembed[d * Reference.VOCAB + v];
            }
            logits[v] = sum;
        }
        return logits;
    }

    private static double[] toDoubles(float[] values) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i];
        }
        return d;
    }
}
