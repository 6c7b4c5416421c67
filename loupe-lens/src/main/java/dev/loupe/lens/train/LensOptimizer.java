package dev.loupe.lens.train;

/** The tuned-lens library's {@code --optimizer} choices. */
public enum LensOptimizer {
    /** SGD with Nesterov momentum; learning rate {@code lr_scale × (1 − momentum)}. */
    SGD,
    /** torch's Adam with amsgrad, betas (momentum, 0.999); learning rate {@code lr_scale × 1e-3}. */
    ADAM
}
