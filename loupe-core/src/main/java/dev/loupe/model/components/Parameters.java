package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.numeric.StateDict;
import java.util.Map;
import java.util.Optional;

/**
 * A model's parameters by TransformerLens name ({@code blocks.0.attn.W_Q}), as components read them
 * at construction. Every lookup checks the shape, so a converted checkpoint with a wrong layout fails
 * with a message naming the parameter instead of producing wrong numbers.
 *
 * @param stateDict TransformerLens name to tensor
 * @param manager the weights' manager, owner of tensors that components derive at construction
 */
public record Parameters(Map<String, NDArray> stateDict, NDManager manager) {

    /** The parameter {@code name}, which must have {@code shape}, as a component uses it. */
    public Weight weight(String name, long... shape) {
        return Weight.of(get(name, shape));
    }

    /**
     * The parameter {@code name} where it is held as a stored tensor with a scale ({@link StateDict#putScaled}),
     * whose stored tensor must have {@code shape}; empty where it is held as it is.
     */
    public Optional<StateDict.Scaled> scaled(String name, long... shape) {
        Optional<StateDict.Scaled> scaled = StateDict.scaled(stateDict, name);
        scaled.ifPresent(s -> checkShape(name, s.stored(), shape));
        return scaled;
    }

    /** {@code array} in float32: a float16 copy of stored weights is widened (in its own manager). */
    static NDArray float32(NDArray array) {
        return array.getDataType() == DataType.FLOAT32 ? array : array.toType(DataType.FLOAT32, false);
    }

    /** The parameter {@code name}, which must have {@code shape}. */
    public NDArray get(String name, long... shape) {
        NDArray value = stateDict.get(name);
        if (value == null) {
            throw new LoupeException("The state dict has no parameter '" + name
                    + "'; the checkpoint was converted incompletely");
        }
        checkShape(name, value, shape);
        return value;
    }

    private static void checkShape(String name, NDArray value, long... shape) {
        Shape expected = new Shape(shape);
        if (!value.getShape().equals(expected)) {
            throw new LoupeException("Parameter '" + name + "' has shape " + value.getShape() + " but the config needs "
                    + expected + "; the checkpoint does not match its config.json");
        }
    }
}
