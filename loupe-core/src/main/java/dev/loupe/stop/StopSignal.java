package dev.loupe.stop;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * A request to stop a long run at its next safe point: one token per run, requested once (by a
 * signal handler, another thread, a server's cancel call) and polled by the run's loops between
 * their steps, which then throw {@link StoppedException}. Polling is a volatile read.
 *
 * <p>A run finds its signal through {@link #current()}: the signal bound to the running thread by
 * {@link #bind()}, or, when none is, one that is never requested. Loops take it once, on the
 * thread that called them, and poll that object (worker threads they start do not inherit it).
 */
public final class StopSignal {
    private static final ThreadLocal<StopSignal> BOUND = new ThreadLocal<>();

    private volatile String reason;

    /** A signal not yet requested. */
    public StopSignal() {}

    /**
     * Asks the run to stop at its next safe point. The first request wins; later ones change nothing.
     *
     * @param why what asked, as the stop's message will say it: {@code "SIGTERM"}, {@code "a cancel request"}
     */
    public void request(String why) {
        Objects.requireNonNull(why, "why");
        synchronized (this) {
            if (reason == null) {
                reason = why;
            }
        }
    }

    /** Whether a stop was requested. */
    public boolean requested() {
        return reason != null;
    }

    /** What asked for the stop ({@code "SIGTERM"}), or null while none was requested. */
    public String reason() {
        return reason;
    }

    /**
     * A safe point: throws {@link StoppedException} if a stop was requested, and returns at once
     * otherwise.
     *
     * @param progress how far the run got, computed only when it stops: {@code "after step 12 of 250"}
     */
    public void check(Supplier<String> progress) {
        String why = reason;
        if (why != null) {
            throw new StoppedException(why, progress.get());
        }
    }

    /**
     * The exception a loop throws at a safe point once a stop was requested, for a loop that does
     * something before throwing (saves a checkpoint, then says where).
     *
     * @param progress how far the run got: {@code "after step 12 of 250; the last checkpoint is ..."}
     * @throws IllegalStateException if no stop was requested
     */
    public StoppedException stopped(String progress) {
        String why = reason;
        if (why == null) {
            throw new IllegalStateException("no stop was requested");
        }
        return new StoppedException(why, progress);
    }

    /**
     * Makes this the signal of the calling thread ({@link #current()}) until the binding is closed,
     * which restores the thread's previous one.
     */
    public Binding bind() {
        StopSignal previous = BOUND.get();
        BOUND.set(this);
        return new Binding(this, previous);
    }

    /**
     * The signal bound to the calling thread by {@link #bind()}; without one, a new signal that
     * nobody else holds, so never requested.
     */
    public static StopSignal current() {
        StopSignal bound = BOUND.get();
        return bound != null ? bound : new StopSignal();
    }

    /** A signal's binding to a thread; closing it (on that thread) restores the previous binding. */
    public static final class Binding implements AutoCloseable {
        private final StopSignal signal;
        private final StopSignal previous;

        private Binding(StopSignal signal, StopSignal previous) {
            this.signal = signal;
            this.previous = previous;
        }

        /** The bound signal. */
        public StopSignal signal() {
            return signal;
        }

        @Override
        public void close() {
            if (previous == null) {
                BOUND.remove();
            } else {
                BOUND.set(previous);
            }
        }
    }
}
