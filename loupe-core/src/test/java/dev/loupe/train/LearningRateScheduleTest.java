package dev.loupe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.LoupeException;
import org.junit.jupiter.api.Test;

/** The schedules against transformers' get_*_schedule_with_warmup formulas, step by step. */
class LearningRateScheduleTest {
    @Test
    void cosineWarmsUpLinearlyThenFollowsHalfACosine() {
        LearningRateSchedule s = LearningRateSchedule.warmupCosine(1e-3, 10, 110, 0);
        assertThat(s.at(0)).isZero();
        assertThat(s.at(5)).isCloseTo(5e-4, within(1e-12));
        assertThat(s.at(10)).isCloseTo(1e-3, within(1e-12));
        for (int step = 10; step <= 110; step += 7) {
            double progress = (step - 10) / 100.0;
            double expected = 1e-3 * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)));
            assertThat(s.at(step)).as("step %d", step).isCloseTo(expected, within(1e-12));
        }
        assertThat(s.at(60)).isCloseTo(5e-4, within(1e-12));
        assertThat(s.at(110)).isCloseTo(0, within(1e-15));
        assertThat(s.at(500)).isCloseTo(0, within(1e-15));
    }

    @Test
    void cosineCanEndAboveZero() {
        LearningRateSchedule s = LearningRateSchedule.warmupCosine(1e-3, 0, 100, 1e-4);
        assertThat(s.at(0)).isCloseTo(1e-3, within(1e-12));
        assertThat(s.at(50)).isCloseTo(1e-4 + 0.9e-3 / 2, within(1e-12));
        assertThat(s.at(100)).isCloseTo(1e-4, within(1e-12));
    }

    @Test
    void linearDecaysToZeroAsTransformers() {
        LearningRateSchedule s = LearningRateSchedule.warmupLinear(2.0, 4, 12);
        double[] expected = {0, 0.5, 1, 1.5, 2, 1.75, 1.5, 1.25, 1, 0.75, 0.5, 0.25, 0, 0};
        for (int step = 0; step < expected.length; step++) {
            assertThat(s.at(step)).as("step %d", step).isCloseTo(expected[step], within(1e-12));
        }
    }

    @Test
    void badSchedulesAreRefused() {
        assertThatThrownBy(() -> LearningRateSchedule.warmupLinear(1, 20, 10)).isInstanceOf(LoupeException.class)
                .hasMessageContaining("warm-up");
        assertThatThrownBy(() -> LearningRateSchedule.warmupCosine(1, 0, 10, 2)).isInstanceOf(LoupeException.class);
    }
}
