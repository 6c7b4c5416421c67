package dev.loupe.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The run queue: a full queue answers 503 at once, a freed turn is taken again, errors pass through. */
class RunQueueTest {

    @Test
    void aFullQueueAnswersBusyAtOnceAndAFreedTurnServesAgain() throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(2);
        try (RunQueue queue = new RunQueue(1, 1)) {
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<String> running = CompletableFuture.supplyAsync(() -> queue.run(() -> {
                started.countDown();
                await(release);
                return "first";
            }), clients);
            assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<String> waiting = CompletableFuture.supplyAsync(() -> queue.run(() -> "second"), clients);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (queue.admitted() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(queue.admitted()).as("one run running, one waiting").isEqualTo(2);
            assertThatThrownBy(() -> queue.run(() -> "third")).isInstanceOfSatisfying(ApiException.class,
                    e -> assertThat(e.status()).isEqualTo(503)).hasMessageContaining("busy");
            assertThat(queue.admitted()).isEqualTo(2);
            release.countDown();
            assertThat(running.get(10, TimeUnit.SECONDS)).isEqualTo("first");
            assertThat(waiting.get(10, TimeUnit.SECONDS)).isEqualTo("second");
            assertThat(queue.run(() -> "again")).isEqualTo("again");
            assertThat(queue.admitted()).isZero();
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void aRunsExceptionReachesTheCallerAndFreesTheTurn() {
        try (RunQueue queue = new RunQueue(1, 0)) {
            assertThatThrownBy(() -> queue.run(() -> {
                throw new LoupeException("bad layer");
            })).isInstanceOf(LoupeException.class).hasMessage("bad layer");
            assertThat(queue.admitted()).isZero();
            assertThat(queue.run(() -> 1)).isEqualTo(1);
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
