package dev.loupe.analysis.heads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The text entry points of {@link HeadDetector}, on the tiny GPT-2 with a tokenizer. */
class HeadDetectorTextTest {
    @Test
    void textAndListOfTexts() {
        try (HookedTransformer model = HookedTransformer.fromPretrained(Path.of("..", "testdata", "models", "gpt2-tok"));
                NDManager manager = NDManager.newBaseManager()) {
            String one = "The cat sat on the mat. The cat sat on the mat.";
            String two = "One two three four, one two three four.";
            HeadDetector.Options options = HeadDetector.Options.defaults().withExcludeBos(true);
            float[][] fromText = HeadDetector.detectHead(model, one, DetectionPattern.INDUCTION, options);
            float[][] fromTokens = HeadDetector.detectHead(model, model.toTokens(one, manager),
                    DetectionPattern.INDUCTION, null, options);
            assertThat(fromText).isDeepEqualTo(fromTokens);

            float[][] other = HeadDetector.detectHead(model, two, DetectionPattern.INDUCTION, options);
            float[][] mean = HeadDetector.detectHead(model, List.of(one, two), DetectionPattern.INDUCTION, options);
            for (int l = 0; l < mean.length; l++) {
                for (int h = 0; h < mean[l].length; h++) {
                    assertThat(mean[l][h]).isCloseTo((fromText[l][h] + other[l][h]) / 2, within(1e-6f));
                    assertThat(mean[l][h]).isBetween(0f, 1f);
                }
            }
            assertThatThrownBy(() -> HeadDetector.detectHead(model, List.of(one, two),
                    DetectionPattern.custom(new float[3][3]), options)).isInstanceOf(LoupeException.class)
                    .hasMessageContaining("named detection pattern");
            assertThatThrownBy(() -> HeadDetector.detectHead(model, one, DetectionPattern.INDUCTION,
                    options.withHeads(List.of(LayerHead.of(2, 0))))).hasMessageContaining("outside the model");
        }
    }

    @Test
    void absRejectsAttentionAboveTheDiagonal() {
        float[][] attention = {{0.5f, 0.5f}, {0.5f, 0.5f}};
        assertThatThrownBy(() -> HeadDetector.similarity(attention, DetectionPattern.previousToken(2), false, false,
                ErrorMeasure.ABS)).isInstanceOf(LoupeException.class).hasMessageContaining("above the diagonal");
    }
}
