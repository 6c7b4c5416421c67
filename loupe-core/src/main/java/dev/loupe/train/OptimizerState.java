package dev.loupe.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-parameter state tensors of an optimizer (one slot, such as {@code exp_avg}, per kind), zeros
 * like the parameters, owned by a manager of their own so that they outlive every step's scope.
 */
final class OptimizerState implements AutoCloseable {
    private final NDManager manager = NDManager.newBaseManager();
    private final List<NDArray> parameters;
    private final Map<String, List<NDArray>> slots = new LinkedHashMap<>();

    OptimizerState(List<NDArray> parameters, List<String> slotNames) {
        if (parameters.isEmpty()) {
            throw new LoupeException("An optimizer needs at least one parameter");
        }
        this.parameters = List.copyOf(parameters);
        for (String slot : slotNames) {
            List<NDArray> tensors = new ArrayList<>();
            for (NDArray p : parameters) {
                tensors.add(manager.zeros(p.getShape(), p.getDataType()));
            }
            slots.put(slot, tensors);
        }
    }

    List<NDArray> parameters() {
        return parameters;
    }

    NDArray get(String slot, int index) {
        return slots.get(slot).get(index);
    }

    Map<String, NDArray> named() {
        Map<String, NDArray> named = new LinkedHashMap<>();
        slots.forEach((slot, tensors) -> {
            for (int i = 0; i < tensors.size(); i++) {
                named.put(slot + "." + i, tensors.get(i));
            }
        });
        return named;
    }

    /** Copies {@code saved} into the slots, checking that every tensor is there with its shape. */
    void load(Map<String, NDArray> saved) {
        named().forEach((name, tensor) -> {
            NDArray value = saved.get(name);
            if (value == null) {
                throw new LoupeException("The optimizer state has no '" + name + "'; the checkpoint was written by"
                        + " another optimizer or for other parameters");
            }
            if (!value.getShape().equals(tensor.getShape())) {
                throw new LoupeException("Optimizer state '" + name + "' has shape " + value.getShape() + " but its"
                        + " parameter has " + tensor.getShape() + "; the checkpoint is for another model");
            }
            value.copyTo(tensor);
        });
    }

    @Override
    public void close() {
        manager.close();
    }
}
