package dev.loupe.analysis.heads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.model.HookedTransformer;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class HeadDetectorTest {
    /** BOS, then 7 distinct tokens, then the same 7 again: 15 positions, under n_ctx = 16. */
    private static final long[] REPEATED = {0, 3, 7, 1, 10, 5, 2, 8, 3, 7, 1, 10, 5, 2, 8};

    private static HookedTransformer model;
    private static NDManager manager;

    @BeforeAll
    static void build() {
        model = KnownHeadsModel.build();
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
        model.close();
    }

    private static NDArray tokens() {
        return manager.create(REPEATED).reshape(1, REPEATED.length);
    }

    @Test
    void constructedPreviousTokenHeadScoresOne() {
        float[][] scores = HeadDetector.detectHead(model, tokens(), DetectionPattern.PREVIOUS_TOKEN, null,
                HeadDetector.Options.defaults().withExcludeBos(true));
        assertThat(scores[0][0]).isCloseTo(1f, within(1e-4f));
        assertThat(max(scores, 0, 0)).isLessThan(0.3f);

        float[][] abs = HeadDetector.detectHead(model, tokens(), DetectionPattern.PREVIOUS_TOKEN, null,
                HeadDetector.Options.defaults().withExcludeBos(true).withErrorMeasure(ErrorMeasure.ABS));
        assertThat(abs[0][0]).isCloseTo(1f, within(1e-6f));
        assertThat(max(abs, 0, 0)).isLessThan(0.5f);
    }

    @Test
    void constructedDuplicateTokenHeadScoresHighest() {
        float[][] scores = HeadDetector.detectHead(model, tokens(), DetectionPattern.DUPLICATE_TOKEN, null,
                HeadDetector.Options.defaults().withExcludeBos(true));
        // Rows of the first half have no duplicate and attend uniformly; rows of the second half score 1.
        assertThat(scores[0][1]).isGreaterThan(0.5f);
        assertThat(max(scores, 0, 1)).isLessThan(0.1f);
    }

    @Test
    void constructedInductionHeadScoresHighest() {
        float[][] scores = HeadDetector.detectHead(model, tokens(), DetectionPattern.INDUCTION, null,
                HeadDetector.Options.defaults().withExcludeBos(true));
        assertThat(scores[1][0]).isGreaterThan(0.5f);
        assertThat(max(scores, 1, 0)).isLessThan(0.1f);
    }

    @Test
    void unselectedHeadsScoreMinusOneAndCacheIsReused() {
        try (ActivationCache cache = model.runWithCache(tokens())) {
            float[][] scores = HeadDetector.detectHead(model, tokens(), DetectionPattern.PREVIOUS_TOKEN, cache,
                    HeadDetector.Options.defaults().withExcludeBos(true).withHeads(List.of(LayerHead.of(0, 0),
                            LayerHead.of(1, 1))));
            assertThat(scores[0][0]).isCloseTo(1f, within(1e-4f));
            assertThat(scores[0][1]).isEqualTo(-1f);
            assertThat(scores[1][0]).isEqualTo(-1f);
            assertThat(scores[1][1]).isBetween(0f, 0.3f);
        }
    }

    @Test
    void customPatternEqualsNamedOne() {
        float[][] named = HeadDetector.detectHead(model, tokens(), DetectionPattern.INDUCTION, null,
                HeadDetector.Options.defaults());
        float[][] custom = HeadDetector.detectHead(model, tokens(),
                DetectionPattern.custom(DetectionPattern.induction(REPEATED)), null, HeadDetector.Options.defaults());
        assertThat(custom).isDeepEqualTo(named);
    }

    @Test
    void validatesSequenceLengthAndPatternShape() {
        assertThatThrownBy(() -> HeadDetector.detectHead(model, manager.create(new long[] {0}),
                DetectionPattern.PREVIOUS_TOKEN, null, HeadDetector.Options.defaults()))
                .isInstanceOf(LoupeException.class).hasMessage(HeadDetector.SEQ_LEN_ERR);
        long[] sixteen = new long[KnownHeadsModel.CTX];
        assertThatThrownBy(() -> HeadDetector.detectHead(model, manager.create(sixteen),
                DetectionPattern.PREVIOUS_TOKEN, null, HeadDetector.Options.defaults()))
                .isInstanceOf(LoupeException.class).hasMessage(HeadDetector.SEQ_LEN_ERR);
        float[][] upper = new float[REPEATED.length][REPEATED.length];
        upper[0][1] = 1f;
        assertThatThrownBy(() -> HeadDetector.detectHead(model, tokens(), DetectionPattern.custom(upper), null,
                HeadDetector.Options.defaults()))
                .isInstanceOf(LoupeException.class).hasMessageContaining("lower triangular")
                .hasMessageContaining("sequence_length=15");
        assertThatThrownBy(() -> HeadDetector.detectHead(model, tokens(), DetectionPattern.custom(new float[3][3]),
                null, HeadDetector.Options.defaults())).hasMessageContaining("got detection pattern of shape (3, 3)");
    }

    @Test
    void patternBuilders() {
        assertThat(DetectionPattern.previousToken(3)).isDeepEqualTo(new float[][] {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}});
        long[] tokens = {5, 6, 5, 6, 6};
        assertThat(DetectionPattern.duplicateToken(tokens)).isDeepEqualTo(new float[][] {
            {0, 0, 0, 0, 0},
            {0, 0, 0, 0, 0},
            {1, 0, 0, 0, 0},
            {0, 1, 0, 0, 0},
            {0, 1, 0, 1, 0}});
        // Shifted one column right; (4, 4) is set because tokens 3 and 4 are equal, as in TransformerLens.
        assertThat(DetectionPattern.induction(tokens)).isDeepEqualTo(new float[][] {
            {0, 0, 0, 0, 0},
            {0, 0, 0, 0, 0},
            {0, 1, 0, 0, 0},
            {0, 0, 1, 0, 0},
            {0, 0, 1, 0, 1}});
    }

    @Test
    void errorMeasuresOnHandWrittenPattern() {
        float[][] attention = {{1f, 0f, 0f}, {0.5f, 0.5f, 0f}, {0.2f, 0.3f, 0.5f}};
        float[][] detection = DetectionPattern.previousToken(3);
        assertThat(HeadDetector.similarity(attention, detection, false, false, ErrorMeasure.MUL))
                .isCloseTo(0.8f / 3f, within(1e-6f));
        assertThat(HeadDetector.similarity(attention, detection, true, false, ErrorMeasure.MUL))
                .isCloseTo(0.3f / 1.3f, within(1e-6f));
        assertThat(HeadDetector.similarity(attention, detection, false, true, ErrorMeasure.MUL))
                .isCloseTo(0.8f, within(1e-6f));
        // |diff| sums to 3.4 over 9 entries; × 3 = 1.1333 → rounded 1.133.
        assertThat(HeadDetector.similarity(attention, detection, false, false, ErrorMeasure.ABS))
                .isCloseTo(1f - 1.133f, within(1e-6f));
        // Without column 0: 1.7 / 9 × 3 = 0.5667 → 0.567.
        assertThat(HeadDetector.similarity(attention, detection, true, false, ErrorMeasure.ABS))
                .isCloseTo(1f - 0.567f, within(1e-6f));
        // Without the diagonal: 3.4 − 1 − 0.5 − 0.5 = 1.4 → 0.4667 → 0.467.
        assertThat(HeadDetector.similarity(attention, detection, false, true, ErrorMeasure.ABS))
                .isCloseTo(1f - 0.467f, within(1e-6f));
        // The input is not changed (TransformerLens zeroes the cached pattern in place).
        assertThat(attention[1][0]).isEqualTo(0.5f);
    }

    /** The largest score other than (layer, head). */
    private static float max(float[][] scores, int layer, int head) {
        float max = Float.NEGATIVE_INFINITY;
        for (int l = 0; l < scores.length; l++) {
            for (int h = 0; h < scores[l].length; h++) {
                if (l != layer || h != head) {
                    max = Math.max(max, scores[l][h]);
                }
            }
        }
        return max;
    }
}
