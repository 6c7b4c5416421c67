package dev.loupe.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** Kept constants against scalars made per call. */
class ScalarsTest {
    @Test
    void aConstantIsMadeOnceAndGivesTheBitsOfAScalarMadePerCall() {
        Scalars.Constant third = Scalars.constant(1f / 3);
        NDArray kept;
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(11);
            NDArray x = manager.randomNormal(new Shape(64));
            kept = third.like(x);
            assertThat(third.like(x)).as("the same tensor on the second call").isSameAs(kept);
            assertThat(x.mul(kept).toFloatArray()).containsExactly(Scalars.mul(x, 1f / 3).toFloatArray());
            assertThat(x.div(kept).toFloatArray()).containsExactly(Scalars.div(x, 1f / 3).toFloatArray());
            assertThat(manager.getManagedArrays()).as("nothing of the constant in the caller's manager").doesNotContain(kept);
        }
        assertThat(kept.isReleased()).as("closing the caller's manager leaves the constant").isFalse();
        assertThat(kept.getShape()).isEqualTo(new Shape());
        assertThat(kept.getFloat()).isEqualTo(1f / 3);
    }
}
