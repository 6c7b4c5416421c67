package dev.loupe.train;

import ai.djl.ndarray.NDArray;
import java.util.List;
import java.util.Map;

/**
 * Updates a list of parameter tensors from their gradients, as a {@code torch.optim} optimizer does.
 * Parameters are leaf NDArrays that require a gradient; the optimizer changes them in place, outside
 * gradient recording, so every model or lens that holds them sees the new values. Its state (moment
 * estimates, momentum buffers) lives in the optimizer's own memory until {@link #close()}.
 *
 * <pre>{@code
 * try (Optimizer adam = AdamW.builder().weightDecay(0.01).build(params)) {
 *     for (long step = 0; step < steps; step++) {
 *         Gradients.compute(params, () -> lossOf(batch(step)));
 *         GradientClipping.clipGradNorm(params, 1.0);
 *         adam.step(schedule.at(step));
 *     }
 * }
 * }</pre>
 */
public interface Optimizer extends AutoCloseable {

    /** The parameters it updates, in the order the state's names number them. */
    List<NDArray> parameters();

    /** One update from the parameters' current gradients with learning rate {@code learningRate}. */
    void step(double learningRate);

    /** How many updates it has made (torch's {@code state["step"]}). */
    long stepCount();

    /**
     * Its state as named tensors, for a checkpoint: {@code <slot>.<parameter index>}, e.g.
     * {@code exp_avg.3}. The tensors are its own (copy them before changing them).
     */
    Map<String, NDArray> state();

    /** Continues from a checkpoint: copies {@code state} (as {@link #state()} names it) and the step count in. */
    void loadState(Map<String, NDArray> state, long stepCount);

    /** Its hyperparameters by torch's names, for a checkpoint's JSON ({@code lr} is given per step). */
    Map<String, Object> hyperparameters();

    /** Frees its state. */
    @Override
    void close();
}
