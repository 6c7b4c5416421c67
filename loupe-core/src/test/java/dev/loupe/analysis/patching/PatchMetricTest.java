package dev.loupe.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The per-prompt logit difference equals the difference read element by element from the logits. */
class PatchMetricTest {
    @Test
    void perPromptLogitDiffAveragesEachRunsPromptsAtTheLastPosition() {
        int runs = 3;
        int batch = 4;
        int pos = 5;
        int vocab = 9;
        long[] right = {1, 8, 0, 4};
        long[] wrong = {2, 3, 0, 7}; // prompt 2: equal ids, difference 0
        float[] values = new float[runs * batch * pos * vocab];
        Random random = new Random(3);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray logits = manager.create(values, new Shape(runs * batch, pos, vocab));
            float[] each = PatchMetric.logitDiff(right, wrong).applyEach(logits, runs);
            for (int r = 0; r < runs; r++) {
                double expected = 0;
                for (int b = 0; b < batch; b++) {
                    int row = ((r * batch + b) * pos + pos - 1) * vocab;
                    expected += values[row + (int) right[b]] - values[row + (int) wrong[b]];
                }
                assertThat((double) each[r]).as("run %d", r).isCloseTo(expected / batch, within(1e-5));
            }
            assertThat(PatchMetric.logitDiff(right, wrong).apply(logits.get("0:4"))).isEqualTo(each[0]);
            assertThat(PatchMetric.logitDiff(right, wrong).positions()).containsExactly(-1);
            assertThatThrownBy(() -> PatchMetric.logitDiff(new long[] {1}, new long[] {2}).apply(logits.get("0:4")))
                    .isInstanceOf(LoupeException.class).hasMessageContaining("made for 1 prompts");
        }
    }
}
