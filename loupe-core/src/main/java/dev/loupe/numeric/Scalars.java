package dev.loupe.numeric;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Multiplying and dividing by a Java number with a scalar tensor whose memory libtorch owns.
 *
 * <p>DJL's {@code x.mul(0.5f)} (and {@code div}, {@code muli}, {@code divi}) wraps the number in a
 * scalar tensor that borrows the memory of a Java direct buffer, and closes it right after the op.
 * Outside autograd that is harmless. Under autograd, the product saves that scalar for the backward
 * pass, but nothing keeps the direct buffer reachable any more: a garbage collection between the
 * forward and the backward pass frees the memory under the saved tensor, and the gradients come out
 * as garbage (wrong, NaN or 1e24), now and then, more often the more the JVM collects. A scalar made
 * by libtorch ({@code full}) is owned by the tensors that use it, so autograd keeps it alive.
 * The results are bitwise those of DJL's methods.
 *
 * <p>A factor that is the same on every call (a model's constant) is a {@link Constant}: made once per device
 * and kept, instead of three libtorch calls ({@code full}, the op, {@code close}) each time.
 */
public final class Scalars {
    /** Owner of every {@link Constant}'s tensors, for the life of the process (a few bytes each). */
    private static final NDManager KEPT = NDManager.newBaseManager();

    private Scalars() {}

    /**
     * A float32 scalar tensor (shape []) made once per device, in libtorch's memory, and never freed: for factors
     * that do not change between calls, e.g. {@code gelu_new}'s coefficients or a model's attention scale. Use it
     * as an operand ({@code x.muli(c.like(x))}); never close it or change it in place.
     */
    public static final class Constant {
        private final float value;
        private final Map<Device, NDArray> byDevice = new ConcurrentHashMap<>();

        private Constant(float value) {
            this.value = value;
        }

        /** The scalar on {@code like}'s device. */
        public NDArray like(NDArray like) {
            return byDevice.computeIfAbsent(like.getDevice(), device -> {
                NDArray scalar = of(like, value);
                scalar.attach(KEPT);
                return scalar;
            });
        }

        /** Its value. */
        public float value() {
            return value;
        }
    }

    /** A constant factor {@code value} (see {@link Constant}). */
    public static Constant constant(float value) {
        return new Constant(value);
    }

    /** A float32 scalar tensor (shape []) holding {@code value}, in {@code like}'s manager, in libtorch's memory. */
    public static NDArray of(NDArray like, float value) {
        return like.getManager().full(new Shape(), value, DataType.FLOAT32);
    }

    /** {@code x · value}, a new array. */
    public static NDArray mul(NDArray x, float value) {
        try (NDArray scalar = of(x, value)) {
            return x.mul(scalar);
        }
    }

    /** {@code x · value}, in place. */
    public static NDArray muli(NDArray x, float value) {
        try (NDArray scalar = of(x, value)) {
            return x.muli(scalar);
        }
    }

    /** {@code x / value}, a new array. */
    public static NDArray div(NDArray x, float value) {
        try (NDArray scalar = of(x, value)) {
            return x.div(scalar);
        }
    }

    /** {@code x / value}, in place. */
    public static NDArray divi(NDArray x, float value) {
        try (NDArray scalar = of(x, value)) {
            return x.divi(scalar);
        }
    }
}
