package dev.loupe.numeric;

import java.util.concurrent.locks.ReentrantLock;

/**
 * DJL allows one {@code GradientCollector} per process at a time, so every run that needs
 * gradients holds this lock while it records and differentiates.
 */
public final class Autograd {
    private static final ReentrantLock LOCK = new ReentrantLock();
    private static volatile boolean recording;

    private Autograd() {}

    /** The process-wide lock around gradient recording. */
    public static ReentrantLock lock() {
        return LOCK;
    }

    /**
     * Whether a run is recording for autograd. Components then avoid in-place ops on tensors that
     * autograd saves for the backward pass (libtorch refuses to differentiate through those).
     */
    public static boolean isRecording() {
        return recording;
    }

    /** Set by whoever holds {@link #lock()} and records (ForwardRun, dev.loupe.train.Gradients). */
    public static void setRecording(boolean on) {
        recording = on;
    }
}
