package dev.loupe.analysis.utils;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.generate.Sampling;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SamplingTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    @Test
    void greedyIsArgmaxAndAppliesRepetitionPenaltyOnly() {
        float[][] logits = {{1f, 3f, 2f}, {5f, -1f, 4.9f}};
        assertThat(Sampling.sampleLogits(logits, Sampling.Options.greedy(), null, new Random(0)))
                .containsExactly(1, 0);
        // Token 0 was seen: 5 / 1.1 = 4.55 < 4.9, so greedy now picks token 2.
        long[][] seen = {{0}, {0}};
        assertThat(Sampling.sampleLogits(logits, Sampling.Options.greedy().withRepetitionPenalty(1.1f), seen,
                new Random(0))).containsExactly(1, 2);
    }

    @Test
    void topKMaskKeepsTies() {
        float[] logits = {1f, 4f, 2f, 4f, 3f, 0f};
        assertThat(Sampling.filteredLogits(logits, Sampling.Options.defaults().withTopK(2), null))
                .containsExactly(NEG_INF, 4f, NEG_INF, 4f, NEG_INF, NEG_INF);
        assertThat(Sampling.filteredLogits(logits, Sampling.Options.defaults().withTopK(3), null))
                .containsExactly(NEG_INF, 4f, NEG_INF, 4f, 3f, NEG_INF);
        // Larger than the vocabulary: clamped, nothing removed.
        assertThat(Sampling.filteredLogits(logits, Sampling.Options.defaults().withTopK(100), null))
                .containsExactly(logits);
        assertThatThrownBy(() -> Sampling.Options.defaults().withTopK(0)).isInstanceOf(LoupeException.class)
                .hasMessage("top_k has to be greater than 0");
    }

    @Test
    void topPMaskKeepsTheSmallestPrefixExceedingP() {
        float[] logits = log(0.1f, 0.4f, 0.2f, 0.3f); // sorted: 0.4, 0.3, 0.2, 0.1
        // Cumulative 0.4, 0.7, 0.9, 1.0: with p = 0.5 keep 0.4 and 0.3 (0.4 alone does not exceed 0.5).
        float[] half = Sampling.filteredLogits(logits, Sampling.Options.defaults().withTopP(0.5f), null);
        assertThat(half).containsExactly(NEG_INF, logits[1], NEG_INF, logits[3]);
        // p = 0.35: 0.4 alone exceeds it.
        float[] small = Sampling.filteredLogits(logits, Sampling.Options.defaults().withTopP(0.35f), null);
        assertThat(small).containsExactly(NEG_INF, logits[1], NEG_INF, NEG_INF);
        // p = 1 keeps everything.
        assertThat(Sampling.filteredLogits(logits, Sampling.Options.defaults().withTopP(1f), null))
                .containsExactly(logits);
        assertThatThrownBy(() -> Sampling.Options.defaults().withTopP(0f)).hasMessage("top_p has to be in (0, 1]");
    }

    @Test
    void temperatureAndFrequencyPenalty() {
        float[] logits = {1f, 2f, 3f};
        long[] seen = {2, 2, 0};
        float[] x = Sampling.filteredLogits(logits,
                Sampling.Options.defaults().withTemperature(2f).withFreqPenalty(0.25f), seen);
        assertThat(x).containsExactly(0.5f - 0.25f, 1f, 1.5f - 0.5f);
        assertThatThrownBy(() -> Sampling.filteredLogits(logits, Sampling.Options.defaults().withFreqPenalty(1f), null))
                .hasMessage("Must provide input_tokens if applying a frequency penalty");
    }

    @Test
    void samplingFrequenciesFollowTheSoftmax() {
        float[][] logits = {log(0.1f, 0.2f, 0.3f, 0.4f)};
        int[] counts = new int[4];
        Random random = new Random(42);
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            counts[(int) Sampling.sampleLogits(logits, Sampling.Options.defaults(), null, random)[0]]++;
        }
        // The standard error of each frequency is at most 0.0035; 0.015 is over four of them.
        assertThat(counts[0] / (double) n).isCloseTo(0.1, within(0.015));
        assertThat(counts[1] / (double) n).isCloseTo(0.2, within(0.015));
        assertThat(counts[2] / (double) n).isCloseTo(0.3, within(0.015));
        assertThat(counts[3] / (double) n).isCloseTo(0.4, within(0.015));

        // Temperature 0.5 squares the probabilities: 1, 4, 9, 16 over 30.
        int[] cold = new int[4];
        for (int i = 0; i < n; i++) {
            cold[(int) Sampling.sampleLogits(logits, Sampling.Options.defaults().withTemperature(0.5f), null,
                    random)[0]]++;
        }
        assertThat(cold[3] / (double) n).isCloseTo(16 / 30.0, within(0.015));
        assertThat(cold[0] / (double) n).isCloseTo(1 / 30.0, within(0.015));

        // Top-k 2 never draws a removed token, and splits 3:4 between the others.
        int[] topK = new int[4];
        for (int i = 0; i < n; i++) {
            topK[(int) Sampling.sampleLogits(logits, Sampling.Options.defaults().withTopK(2), null, random)[0]]++;
        }
        assertThat(topK[0] + topK[1]).isZero();
        assertThat(topK[3] / (double) n).isCloseTo(4 / 7.0, within(0.015));
    }

    @Test
    void ndArrayEntryIsSeededAndBatched() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray logits = manager.randomNormal(new Shape(3, 50));
            NDArray tokens = manager.create(new long[][] {{1, 2}, {3, 3}, {4, 5}});
            Sampling.Options options = Sampling.Options.defaults().withTopP(0.9f).withFreqPenalty(0.5f);
            NDArray a = Sampling.sampleLogits(logits, options, tokens, new Random(7), manager);
            NDArray b = Sampling.sampleLogits(logits, options, tokens, new Random(7), manager);
            assertThat(a.getShape()).isEqualTo(new Shape(3));
            assertThat(a.toLongArray()).containsExactly(b.toLongArray());
            NDArray greedy = Sampling.sampleLogits(logits, Sampling.Options.greedy(), null, new Random(7), manager);
            assertThat(greedy.toLongArray()).containsExactly(logits.argMax(-1).toLongArray());
        }
    }

    private static float[] log(float... p) {
        float[] out = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            out[i] = (float) Math.log(p[i]);
        }
        return out;
    }
}
