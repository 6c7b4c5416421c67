package dev.loupe.server;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded run queue: {@code running} runs at once, {@code waiting} more wait for a turn, and
 * any beyond those are refused at once ({@link #enter} answers 503 "busy, retry") instead of hanging.
 */
final class RunSlots {
    private final Semaphore turns;
    private final int capacity;
    private final AtomicInteger admitted = new AtomicInteger();

    RunSlots(int running, int waiting) {
        this.turns = new Semaphore(running, true);
        this.capacity = running + waiting;
    }

    /** A turn to run, held until closed. */
    interface Slot extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Waits for a turn if one is free or the queue has room.
     *
     * @throws ApiException 503 when the queue is full, or when the wait is interrupted
     */
    Slot enter() {
        if (admitted.incrementAndGet() > capacity) {
            admitted.decrementAndGet();
            throw busy();
        }
        try {
            turns.acquire();
        } catch (InterruptedException e) {
            admitted.decrementAndGet();
            Thread.currentThread().interrupt();
            throw busy();
        }
        return () -> {
            turns.release();
            admitted.decrementAndGet();
        };
    }

    /** How many runs are running or waiting. */
    int admitted() {
        return admitted.get();
    }

    private ApiException busy() {
        return new ApiException(503, "The server is busy (" + capacity + " runs running or queued); retry after the"
                + " Retry-After header's seconds");
    }
}
