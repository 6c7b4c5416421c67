package dev.loupe.cli.demo;

import static dev.loupe.cli.CliTestSupport.GPT2_TOK;
import static dev.loupe.cli.CliTestSupport.floats;
import static dev.loupe.cli.CliTestSupport.longs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The logit lens of {@code loupe demo}, against Hugging Face's hidden states. */
class LogitLensTableTest {
    private static final Path REFERENCE = GPT2_TOK.resolve("reference.safetensors");
    private static final int VOCAB = 50257;
    private static final int D_MODEL = 32;

    /** The lens, recomputed in plain Java from Hugging Face's hidden states and the weights. */
    @Test
    void logitLensMatchesAnIndependentComputation() {
        long[] ids = longs(REFERENCE, "p1.input_ids"); // the default prompt's ids
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(GPT2_TOK);
                NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, ids.length);
            LogitLensTable lens = LogitLensTable.run(model, tokens, 5);

            float[] unembed = model.stateDict().get("unembed.W_U").toFloatArray(); // [d_model, vocab]
            float[] bias = model.stateDict().get("unembed.b_U").toFloatArray();
            float[] lnW = model.stateDict().get("ln_final.w").toFloatArray();
            float[] lnB = model.stateDict().get("ln_final.b").toFloatArray();
            String[] residuals = {"p1.hidden_states.0", "p1.hidden_states.1", "p1.final_norm_input"};
            double[] finalProbs = probabilities(lastPosition(floats(REFERENCE, residuals[2])), lnW, lnB, unembed, bias);
            int finalTop = argmax(finalProbs);

            assertThat(lens.rows()).hasSize(3);
            for (int layer = 0; layer < 3; layer++) {
                double[] p = probabilities(lastPosition(floats(REFERENCE, residuals[layer])), lnW, lnB, unembed, bias);
                LogitLensTable.Row row = lens.rows().get(layer);
                assertThat(row.layer()).isEqualTo(layer);
                assertThat(row.best().token()).as("layer %d top-1", layer).isEqualTo(argmax(p));
                assertThat((double) row.best().probability()).isCloseTo(p[argmax(p)], within(1e-5));
                assertThat((double) row.finalTopProbability()).isCloseTo(p[finalTop], within(1e-5));
            }
            assertThat(lens.rows().get(2).hook()).isEqualTo("blocks.1.hook_resid_post");

            // The top predictions are the model's own: softmax of Hugging Face's logits.
            float[] logits = floats(REFERENCE, "p1.logits");
            double[] hf = softmax(java.util.Arrays.copyOfRange(logits, 10 * VOCAB, 11 * VOCAB));
            assertThat(lens.top()).hasSize(5);
            int[] expected = LogitLensTable.topK(toFloats(hf), 5);
            for (int i = 0; i < 5; i++) {
                assertThat(lens.top().get(i).token()).isEqualTo(expected[i]);
                assertThat((double) lens.top().get(i).probability()).isCloseTo(hf[expected[i]], within(1e-5));
            }
        }
    }

    @Test
    void topKOrdersByValueThenIndex() {
        assertThat(LogitLensTable.topK(new float[] {0.1f, 0.5f, 0.2f, 0.5f, 0.9f}, 3)).containsExactly(4, 1, 3);
        assertThat(LogitLensTable.topK(new float[] {3, 2, 1}, 5)).containsExactly(0, 1, 2);
    }

    private static float[] lastPosition(float[] hidden) {
        return java.util.Arrays.copyOfRange(hidden, hidden.length - D_MODEL, hidden.length);
    }

    private static double[] probabilities(float[] x, float[] w, float[] b, float[] unembed, float[] bias) {
        double mean = 0;
        for (float v : x) {
            mean += v;
        }
        mean /= x.length;
        double square = 0;
        for (float v : x) {
            square += (v - mean) * (v - mean);
        }
        double scale = Math.sqrt(square / x.length + 1e-5);
        double[] normalized = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            normalized[i] = (x[i] - mean) / scale * w[i] + b[i];
        }
        double[] logits = new double[VOCAB];
        for (int v = 0; v < VOCAB; v++) {
            double sum = bias[v];
            for (int d = 0; d < D_MODEL; d++) {
                sum += normalized[d] * unembed[d * VOCAB + v];
            }
            logits[v] = sum;
        }
        return softmax(logits);
    }

    private static double[] softmax(float[] logits) {
        double[] d = new double[logits.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = logits[i];
        }
        return softmax(d);
    }

    private static double[] softmax(double[] logits) {
        double max = java.util.Arrays.stream(logits).max().orElseThrow();
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private static int argmax(double[] values) {
        return LogitLensTable.topK(toFloats(values), 1)[0];
    }

    private static float[] toFloats(double[] values) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        return f;
    }
}
