package dev.loupe.server;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The bounded run queue: {@code running} worker threads run the model, {@code waiting} more runs wait
 * for one, and any beyond those are refused at once ({@link #run} answers 503 "busy, retry") instead of
 * hanging. Only the workers touch the model, so its native memory is held by a few threads' allocator
 * arenas, not by every HTTP thread's.
 */
final class RunQueue implements AutoCloseable {
    private final ThreadPoolExecutor workers;
    private final int capacity;
    private final AtomicInteger admitted = new AtomicInteger();

    RunQueue(int running, int waiting) {
        BlockingQueue<Runnable> queue = waiting == 0 ? new SynchronousQueue<>() : new ArrayBlockingQueue<>(waiting);
        AtomicInteger count = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(running, running, 0, TimeUnit.SECONDS, queue, task -> {
            Thread thread = new Thread(task, "loupe-run-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        }, new ThreadPoolExecutor.AbortPolicy());
        this.workers.prestartAllCoreThreads();
        this.capacity = running + waiting;
    }

    /**
     * Runs {@code work} on a worker and waits for it.
     *
     * @throws ApiException 503 when every worker is busy and the queue is full
     */
    <T> T run(Supplier<T> work) {
        Future<T> future;
        admitted.incrementAndGet();
        try {
            future = workers.submit(() -> {
                try {
                    return work.get();
                } finally {
                    admitted.decrementAndGet();
                }
            });
        } catch (RejectedExecutionException e) {
            admitted.decrementAndGet();
            throw new ApiException(503, "The server is busy (" + capacity + " runs running or queued); retry after the"
                    + " Retry-After header's seconds");
        }
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw new ApiException(503, "The server is stopping; retry later");
        }
    }

    /** How many runs are running or queued. */
    int admitted() {
        return admitted.get();
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }
}
