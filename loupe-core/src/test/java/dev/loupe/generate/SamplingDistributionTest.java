package dev.loupe.generate;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * 10,000 first tokens sampled through {@link Generator} (one batch of 10,000 copies of a prompt) follow
 * the distribution that top-k, top-p and temperature define on the model's own logits, computed here
 * by hand. Tolerance: 0.02 absolute per token, over 6 standard deviations of a frequency estimated from
 * 10,000 draws (at most 0.005), so a correct sampler fails with negligible probability while a wrong
 * cut or temperature (which moves some probability by ≥ 0.05 on these logits) is caught.
 */
class SamplingDistributionTest {
    private static final int DRAWS = 10_000;
    private static HookedTransformer model;
    private static NDManager manager;
    private static NDArray prompts;
    private static double[] logits;
    private static float scale;

    @BeforeAll
    static void setUp() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
        manager = NDManager.newBaseManager();
        NDArray prompt = Fixtures.readAll(Fixtures.model("gpt2").resolve("reference.safetensors"), manager)
                .get("input_ids").get("0:1, 0:6");
        float[] last = model.forward(prompt).get("0, -1, :").toFloatArray();
        // Scaled so that the 5th most likely token is 2 nats below the first: the cuts then matter.
        float[] sorted = last.clone();
        Arrays.sort(sorted);
        scale = 2f / (sorted[sorted.length - 1] - sorted[sorted.length - 5]);
        logits = IntStream.range(0, last.length).mapToDouble(i -> last[i] * scale).toArray();
        prompts = prompt.repeat(0, DRAWS);
    }

    @AfterAll
    static void tearDown() {
        manager.close();
        model.close();
    }

    @ParameterizedTest
    @CsvSource({"5, 1.0, 1.0", "0, 0.6, 1.0", "8, 1.0, 0.5", "0, 1.0, 2.0", "10, 0.8, 1.5"})
    void drawsFollowTheCutAndScaledDistribution(int topK, float topP, float temperature) {
        double[] expected = expected(topK, topP, temperature);
        // The hand-made logits are the model's times scale, so the sampler's temperature is ours / scale.
        GenerateOptions options = GenerateOptions.greedy(1).withStopAtEos(false)
                .sampling(topK == 0 ? null : topK, topP, temperature / scale, 0f, 7L);
        NDArray out;
        try (NDManager scope = manager.newSubManager()) {
            out = Generator.generate(model, prompts.duplicate(), null, options, null);
            long[] drawn = out.get(":, -1").toLongArray();
            double[] frequency = new double[expected.length];
            for (long token : drawn) {
                frequency[(int) token] += 1.0 / DRAWS;
            }
            for (int token = 0; token < expected.length; token++) {
                assertThat(frequency[token]).as("token %d", token).isCloseTo(expected[token],
                        org.assertj.core.data.Offset.offset(0.02));
            }
            assertThat(Arrays.stream(expected).filter(p -> p > 0.05).count()).as("a distribution worth testing")
                    .isGreaterThanOrEqualTo(2);
        }
    }

    /**
     * TransformerLens's rules: temperature first, then top-k if given, else top-p (which keeps the token
     * that crosses p); with both, TransformerLens ignores top-p.
     */
    private static double[] expected(int topK, float topP, float temperature) {
        int n = logits.length;
        Integer[] order = IntStream.range(0, n).boxed().sorted(Comparator.comparingDouble(i -> -logits[i]))
                .toArray(Integer[]::new);
        if (topK > 0) {
            return softmax(order, Math.min(topK, n), temperature);
        }
        int kept = n;
        double[] p = softmax(order, kept, temperature);
        double cumulative = 0;
        int nucleus = 0;
        while (nucleus < kept) {
            double before = cumulative;
            cumulative += p[order[nucleus]];
            nucleus++;
            if (before >= topP || cumulative > topP) {
                break;
            }
        }
        return softmax(order, nucleus, temperature);
    }

    private static double[] softmax(Integer[] order, int kept, float temperature) {
        double[] p = new double[logits.length];
        double max = logits[order[0]] / temperature;
        double sum = 0;
        for (int r = 0; r < kept; r++) {
            p[order[r]] = Math.exp(logits[order[r]] / temperature - max);
            sum += p[order[r]];
        }
        for (int r = 0; r < kept; r++) {
            p[order[r]] /= sum;
        }
        return p;
    }
}
