package dev.loupe.numeric;

import ai.djl.pytorch.jni.JniUtils;
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

    /**
     * Runs {@code update} with libtorch's gradient mode off on this thread, then restores it: an optimizer
     * changes its leaf parameters in place, which libtorch refuses in gradient mode. The mode is per thread and
     * only the thread that started DJL's engine begins with it off; others (each JShell snippet of
     * {@code loupe shell}, a pool's workers) begin with it on.
     */
    public static void withoutGradientMode(Runnable update) {
        boolean was = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            update.run();
        } finally {
            JniUtils.setGradMode(was);
        }
    }

    /** Set by whoever holds {@link #lock()} and records (ForwardRun, dev.loupe.train.Gradients). */
    public static void setRecording(boolean on) {
        recording = on;
    }
}
