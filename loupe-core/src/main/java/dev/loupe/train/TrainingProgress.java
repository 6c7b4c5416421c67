package dev.loupe.train;

/** Told after every optimizer step; {@link ProgressBar} draws it. */
@FunctionalInterface
public interface TrainingProgress {

    /** {@code done} steps are complete, the last with training loss {@code loss} at learning rate {@code lr}. */
    void update(long done, double loss, double lr);

    /** As {@link #update(long, double, double)}, with more to show after the loss (per-layer losses, say). */
    default void update(long done, double loss, double lr, String detail) {
        update(done, loss, lr);
    }
}
