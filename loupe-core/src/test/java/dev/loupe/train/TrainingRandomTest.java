package dev.loupe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class TrainingRandomTest {
    @Test
    void aSavedStateContinuesTheSameSequence() {
        TrainingRandom a = TrainingRandom.seeded(42);
        for (int i = 0; i < 10; i++) {
            a.nextLong();
        }
        TrainingRandom b = TrainingRandom.fromState(a.state());
        for (int i = 0; i < 100; i++) {
            assertThat(b.nextLong()).isEqualTo(a.nextLong());
        }
        assertThat(TrainingRandom.seeded(42).nextLong()).isEqualTo(TrainingRandom.seeded(42).nextLong())
                .isNotEqualTo(TrainingRandom.seeded(43).nextLong());
    }

    @Test
    void drawsHaveTheirDistributions() {
        TrainingRandom r = TrainingRandom.seeded(7);
        int[] counts = new int[5];
        for (int i = 0; i < 50_000; i++) {
            counts[r.nextInt(5)]++;
        }
        for (int c : counts) {
            assertThat(c).isBetween(9_500, 10_500);
        }
        float[] normal = r.normal(50_000, 2.0);
        double mean = 0;
        double square = 0;
        for (float v : normal) {
            mean += v;
            square += (double) v * v;
        }
        mean /= normal.length;
        assertThat(mean).isCloseTo(0, within(0.05));
        assertThat(Math.sqrt(square / normal.length - mean * mean)).isCloseTo(2.0, within(0.05));
        for (int i = 0; i < 1000; i++) {
            assertThat(r.nextInt(3, 6)).isBetween(3, 5);
        }
    }
}
