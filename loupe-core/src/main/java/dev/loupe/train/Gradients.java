package dev.loupe.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.loupe.LoupeException;
import dev.loupe.numeric.Autograd;
import java.util.List;
import java.util.function.Supplier;

/**
 * Gradients of a scalar loss with respect to leaf parameters, recorded with DJL's autograd. DJL
 * allows one {@code GradientCollector} per process, so recording holds {@link Autograd#lock()}, as
 * every other gradient computation in Loupe does.
 */
public final class Gradients {
    private Gradients() {}

    /**
     * Sets each parameter's gradient to d(loss)/d(parameter), replacing what was there (torch's
     * {@code zero_grad()} then {@code loss.backward()}). Everything the loss computes is freed when
     * this returns, so {@code loss} may build whatever it needs (a model from the parameters, say).
     *
     * @param parameters leaf arrays that require a gradient
     * @param loss computes a scalar from the parameters; runs while gradients are being recorded
     * @return the loss's value
     */
    public static float compute(List<NDArray> parameters, Supplier<NDArray> loss) {
        for (NDArray p : parameters) {
            if (!p.hasGradient()) {
                throw new LoupeException("A parameter of shape " + p.getShape() + " does not require a gradient;"
                        + " call setRequiresGradient(true) on every parameter before training");
            }
        }
        zero(parameters);
        Autograd.lock().lock();
        Autograd.setRecording(true);
        try (NDScope scope = new NDScope(); GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray value = loss.get();
            if (value.size() != 1) {
                throw new LoupeException("The loss must be a scalar, got shape " + value.getShape());
            }
            collector.backward(value);
            return value.getFloat();
        } finally {
            Autograd.setRecording(false);
            Autograd.lock().unlock();
        }
    }

    /** Sets every parameter's gradient to zero. */
    public static void zero(List<NDArray> parameters) {
        try (NDScope scope = new NDScope()) {
            for (NDArray p : parameters) {
                NDArray g = p.getGradient();
                g.subi(g);
            }
        }
    }

    /** The gradient of {@code p}: a new handle on it, freed with the caller's scope. */
    static NDArray of(NDArray p) {
        return p.getGradient();
    }
}
