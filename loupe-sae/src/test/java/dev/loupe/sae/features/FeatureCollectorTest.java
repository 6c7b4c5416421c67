package dev.loupe.sae.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The streaming collector against a brute force over the whole corpus at once, exactly (every count, bin and
 * context equal): random sparse activations with many ties (values drawn from a few quarters, so that equal maxima
 * across sequences and within one occur), fed in batches of 1, 3 and 7 sequences.
 */
class FeatureCollectorTest {
    private static final int N = 23;
    private static final int POS = 9;
    private static final int D_SAE = 6;
    private static final FeatureOptions OPTIONS = new FeatureOptions(4, 2, 1, 8, 0);

    @Test
    void streamingEqualsTheBruteForceInAnyBatchSize() {
        Random random = new Random(7);
        float[] acts = new float[N * POS * D_SAE];
        for (int i = 0; i < acts.length; i++) {
            int f = i % D_SAE;
            // Feature 5 never fires; feature 4 fires rarely and large; the others often, on a coarse grid (ties).
            acts[i] = f == 5 ? 0 : random.nextFloat() < (f == 4 ? 0.02 : 0.4) ? (1 + random.nextInt(8)) * 0.75f * (f + 1) : 0;
        }
        long[][] tokens = new long[N][POS];
        for (long[] row : tokens) {
            for (int t = 0; t < POS; t++) {
                row[t] = random.nextInt(100);
            }
        }
        List<FeatureActivity> expected = bruteForce(acts, tokens);
        for (int batch : new int[] {1, 3, 7, N}) {
            FeatureCollector collector = new FeatureCollector(D_SAE, null, OPTIONS);
            for (int s = 0; s < N; s += batch) {
                int end = Math.min(N, s + batch);
                collector.add(Arrays.copyOfRange(acts, s * POS * D_SAE, end * POS * D_SAE),
                        Arrays.copyOfRange(tokens, s, end));
            }
            List<FeatureActivity> actual = collector.activities();
            for (int f = 0; f < D_SAE; f++) {
                assertSame(actual.get(f), expected.get(f), "batch " + batch + " feature " + f);
            }
        }
        assertThat(expected.get(5).contexts()).isEmpty();
        assertThat(expected.get(5).density()).isZero();
        assertThat(expected.get(0).contexts()).hasSize(4);
    }

    @Test
    void contextsAreKeptOnlyForTheFeaturesAsked() {
        FeatureCollector collector = new FeatureCollector(3, new int[] {1}, OPTIONS);
        collector.add(new float[] {1, 2, 3, 0, 0, 0}, new long[][] {{4, 5}});
        List<FeatureActivity> all = collector.activities();
        assertThat(all.get(0).contexts()).isEmpty();
        assertThat(all.get(0).activeTokens()).isEqualTo(1);
        assertThat(all.get(1).contexts()).singleElement().satisfies(c -> {
            assertThat(c.tokens()).containsExactly(4, 5);
            assertThat(c.activations()).containsExactly(2, 0);
        });
        assertThat(all.get(2).histogram().binWidth()).isEqualTo(4.0 / 8);
        assertThat(all.get(2).histogram().counts()).containsExactly(0, 0, 0, 0, 0, 0, 1, 0);
    }

    @Test
    void badInputIsRefusedWithTheReason() {
        assertThatThrownBy(() -> new FeatureCollector(3, new int[] {3}, OPTIONS)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("Feature 3 does not exist: the SAE has features 0 to 2");
        FeatureCollector collector = new FeatureCollector(3, null, OPTIONS);
        assertThatThrownBy(() -> collector.add(new float[5], new long[][] {{1, 2}})).isInstanceOf(LoupeException.class)
                .hasMessageContaining("[1, 2, 3] need 6 values, got 5");
        assertThatThrownBy(() -> new FeatureOptions(4, 2, 1, 12, 0)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("power-of-two number of bins");
    }

    /** Everything computed from the whole corpus at once, by the definitions in the records' Javadoc. */
    private static List<FeatureActivity> bruteForce(float[] acts, long[][] tokens) {
        List<FeatureActivity> all = new ArrayList<>();
        for (int f = 0; f < D_SAE; f++) {
            long active = 0;
            float max = 0;
            List<FeatureContext> contexts = new ArrayList<>();
            for (int s = 0; s < N; s++) {
                int best = -1;
                for (int t = 0; t < POS; t++) {
                    float v = acts[(s * POS + t) * D_SAE + f];
                    if (v > 0) {
                        active++;
                        if (best < 0 || v > acts[(s * POS + best) * D_SAE + f]) {
                            best = t;
                        }
                    }
                }
                if (best >= 0) {
                    int start = Math.max(0, best - 2);
                    int end = Math.min(POS, best + 2);
                    float[] window = new float[end - start];
                    for (int t = start; t < end; t++) {
                        window[t - start] = acts[(s * POS + t) * D_SAE + f];
                    }
                    contexts.add(new FeatureContext(s, best, start, Arrays.copyOfRange(tokens[s], start, end), window));
                    max = Math.max(max, window[best - start]);
                }
            }
            contexts.sort(Comparator.comparingDouble(FeatureContext::maxActivation).reversed()
                    .thenComparingInt(FeatureContext::sequence));
            double range = 1;
            while (max > 0 && range > max) {
                range /= 2;
            }
            while (max > 0 && range <= max) {
                range *= 2;
            }
            long[] counts = new long[8];
            for (int i = f; i < acts.length; i += D_SAE) {
                if (acts[i] > 0) {
                    counts[(int) Math.floor(acts[i] / range * 8)]++;
                }
            }
            all.add(new FeatureActivity(f, active, (long) N * POS, max, new ActivationHistogram(range / 8, counts),
                    contexts.subList(0, Math.min(4, contexts.size()))));
        }
        return all;
    }

    static void assertSame(FeatureActivity actual, FeatureActivity expected, String what) {
        assertThat(actual.feature()).as(what).isEqualTo(expected.feature());
        assertThat(actual.activeTokens()).as(what + " active tokens").isEqualTo(expected.activeTokens());
        assertThat(actual.tokens()).as(what + " tokens").isEqualTo(expected.tokens());
        assertThat(actual.maxActivation()).as(what + " max").isEqualTo(expected.maxActivation());
        assertThat(actual.histogram().binWidth()).as(what + " bin width").isEqualTo(expected.histogram().binWidth());
        assertThat(actual.histogram().counts()).as(what + " bins").containsExactly(expected.histogram().counts());
        assertThat(actual.contexts()).as(what + " contexts").hasSameSizeAs(expected.contexts());
        for (int i = 0; i < actual.contexts().size(); i++) {
            FeatureContext a = actual.contexts().get(i);
            FeatureContext e = expected.contexts().get(i);
            assertThat(new int[] {a.sequence(), a.position(), a.start()}).as(what + " context " + i)
                    .containsExactly(e.sequence(), e.position(), e.start());
            assertThat(a.tokens()).as(what + " context " + i + " tokens").containsExactly(e.tokens());
            assertThat(a.activations()).as(what + " context " + i + " activations").containsExactly(e.activations());
        }
    }
}
