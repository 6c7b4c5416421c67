package dev.loupe.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** Element-wise comparisons with a stated absolute tolerance; failures say where and by how much. */
public final class TensorAssert {
    private TensorAssert() {}

    /** Same shape and |actual - expected| <= atol everywhere; infinities must match exactly. */
    public static void assertClose(String what, NDArray actual, NDArray expected, double atol) {
        assertThat(actual.getShape()).as(what + " shape").isEqualTo(expected.getShape());
        float[] a = actual.toType(DataType.FLOAT32, false).toFloatArray();
        float[] e = expected.toType(DataType.FLOAT32, false).toFloatArray();
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < a.length; i++) {
            if (Float.isInfinite(e[i]) || Float.isInfinite(a[i])) {
                if (a[i] != e[i]) {
                    fail(what + ": element " + i + " is " + a[i] + ", expected " + e[i]);
                }
                continue;
            }
            double diff = Math.abs((double) a[i] - e[i]);
            if (!(diff <= worst)) {
                worst = diff;
                worstAt = i;
            }
        }
        if (worst > atol || Double.isNaN(worst)) {
            fail(what + ": max |diff| " + worst + " at element " + worstAt + " (actual " + a[worstAt] + ", expected "
                    + e[worstAt] + ") exceeds atol " + atol);
        }
    }

    /** The largest |a - b|. */
    public static double maxAbsDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }
}
