package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;

/**
 * A parameter as a component uses it. Stored in float32, it is used as it is. Stored in float16 (to
 * halve the memory of a large model), it is widened to float32 into the forward pass's manager just
 * before its layer runs and dropped right after, so that only one layer is float32 at a time:
 * float16 matrix products are far slower than float32 ones on CPU. The widened copy belongs to the
 * thread whose run made it: runs of one model on other threads widen and free their own.
 */
public final class Weight {
    private final NDArray stored;
    private final boolean half;
    private final ThreadLocal<NDArray> widened; // null for float32 weights

    private Weight(NDArray stored) {
        this.stored = stored;
        this.half = stored.getDataType() == DataType.FLOAT16;
        this.widened = half ? new ThreadLocal<>() : null;
    }

    /** Wraps a stored parameter. */
    public static Weight of(NDArray stored) {
        return new Weight(stored);
    }

    /** The float32 value to compute with (this thread's widened copy while its layer runs). */
    public NDArray value() {
        if (!half) {
            return stored;
        }
        NDArray copy = widened.get();
        return copy != null ? copy : stored;
    }

    /**
     * {@code x · W} [..., out] for x [..., in] and this weight W [in, out]. A float16 weight that this thread has not
     * widened with its layer is widened for this product alone and freed right after it, so that a layer's largest
     * matrices are float32 one at a time (an MLP's three at Gemma-2-2B take 0.25 GB in float32 together) and the
     * experts a mixture routes no token to never.
     */
    public static NDArray matMul(NDArray x, Weight w) {
        return w.product(x, false);
    }

    /** {@code x · Wᵀ} for a weight W [out, in] in {@code nn.Linear}'s layout; widened as {@link #matMul}. */
    public static NDArray matMulTransposed(NDArray x, Weight w) {
        return w.product(x, true);
    }

    private NDArray product(NDArray x, boolean transposed) {
        if (!half || widened.get() != null) {
            return x.matMul(transposed ? value().transpose() : value());
        }
        try (NDArray inPass = stored.get(x.getManager(), new NDIndex());
                NDArray wide = inPass.toType(DataType.FLOAT32, false)) {
            return x.matMul(transposed ? wide.transpose() : wide);
        }
    }

    /** The parameter as stored (float32 or float16). */
    public NDArray stored() {
        return stored;
    }

    /** Whether it is stored in float16. */
    public boolean isHalf() {
        return half;
    }

    /**
     * Widens, for the calling thread, every float16 weight of {@code weights} into {@code pass} (an
     * indexed view puts the copy there) that this thread has not widened already.
     *
     * @return the weights widened now, for {@link #release}
     */
    public static List<Weight> widen(List<Weight> weights, NDManager pass) {
        List<Weight> widenedNow = new ArrayList<>();
        for (Weight weight : weights) {
            if (weight.half && weight.widened.get() == null) {
                // Of a strided weight (a transposed view) the indexed view is itself a float16 copy: closed here, or
                // every layer's would stay in the pass's manager until the pass ends (0.4 GB a layer at Gemma-2-9B).
                try (NDArray inPass = weight.stored.get(pass, new NDIndex())) {
                    weight.widened.set(inPass.toType(DataType.FLOAT32, false));
                }
                widenedNow.add(weight);
            }
        }
        return widenedNow;
    }

    /** Frees this thread's widened copies of {@code weights}, so that the next layer's take their place. */
    public static void release(List<Weight> weights) {
        for (Weight weight : weights) {
            NDArray copy = weight.half ? weight.widened.get() : null;
            if (copy != null) {
                copy.close();
                weight.widened.remove();
            }
        }
    }
}
