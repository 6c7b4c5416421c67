package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.List;

/**
 * A parameter as a component uses it. Stored in float32, it is used as it is. Stored in float16 (to
 * halve the memory of a large model), it is widened to float32 into the forward pass's manager just
 * before its layer runs and dropped right after, so that only one layer is float32 at a time:
 * float16 matrix products are far slower than float32 ones on CPU.
 */
public final class Weight {
    private final NDArray stored;
    private NDArray widened;

    private Weight(NDArray stored) {
        this.stored = stored;
    }

    /** Wraps a stored parameter. */
    public static Weight of(NDArray stored) {
        return new Weight(stored);
    }

    /** The float32 value to compute with (the widened copy while its layer runs). */
    public NDArray value() {
        return widened != null ? widened : stored;
    }

    /** The parameter as stored (float32 or float16). */
    public NDArray stored() {
        return stored;
    }

    /** Whether it is stored in float16. */
    public boolean isHalf() {
        return stored.getDataType() == DataType.FLOAT16;
    }

    /** Widens every float16 weight of {@code weights} into {@code pass} (an indexed view puts the copy there). */
    public static void widen(List<Weight> weights, NDManager pass) {
        for (Weight weight : weights) {
            if (weight.isHalf()) {
                weight.widened = weight.stored.get(pass, new NDIndex()).toType(DataType.FLOAT32, false);
            }
        }
    }

    /** Frees the widened copies, so that the next layer's take their place rather than add to them. */
    public static void release(List<Weight> weights) {
        for (Weight weight : weights) {
            if (weight.widened != null) {
                weight.widened.close();
                weight.widened = null;
            }
        }
    }
}
