package dev.loupe.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import dev.loupe.LoupeException;
import java.util.List;

/** Clipping of gradients by their global norm, as {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradientClipping {
    private GradientClipping() {}

    /**
     * Scales every parameter's gradient, in place, by {@code min(1, maxNorm / (norm + 1e-6))}, where
     * {@code norm} is the L2 norm of all the gradients together.
     *
     * @return the norm before clipping
     */
    public static float clipGradNorm(List<NDArray> parameters, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new LoupeException("The largest gradient norm must be > 0, got " + maxNorm);
        }
        try (NDScope scope = new NDScope()) {
            NDList norms = new NDList();
            for (NDArray p : parameters) {
                norms.add(Gradients.of(p).norm());
            }
            float total = NDArrays.stack(norms).norm().getFloat();
            double coefficient = Math.min(1.0, maxNorm / (total + 1e-6));
            for (NDArray p : parameters) {
                Gradients.of(p).muli((float) coefficient);
            }
            return total;
        }
    }
}
