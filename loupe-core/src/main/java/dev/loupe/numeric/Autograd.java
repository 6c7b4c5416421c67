package dev.loupe.numeric;

import java.util.concurrent.locks.ReentrantLock;

/**
 * DJL allows one {@code GradientCollector} per process at a time, so every run that needs
 * gradients holds this lock while it records and differentiates: such runs are serialised, one
 * after the other, while runs without gradients go on beside them on other threads.
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
     * Whether the calling thread is recording for autograd (it holds {@link #lock()} and set
     * {@link #setRecording(boolean)}). Components then avoid in-place ops on tensors that autograd
     * saves for the backward pass (libtorch refuses to differentiate through those); runs on other
     * threads meanwhile keep their in-place ops.
     */
    public static boolean isRecording() {
        return recording && LOCK.isHeldByCurrentThread();
    }

    /** Set by whoever holds {@link #lock()} and records (ForwardRun, dev.loupe.train.Gradients). */
    public static void setRecording(boolean on) {
        recording = on;
    }
}
