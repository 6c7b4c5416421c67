package dev.loupe.stop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The stop token: requested once, polled at safe points, bound to the thread that runs a loop. */
class StopSignalTest {
    @Test
    void aSafePointPassesUntilAStopIsRequestedAndThenSaysWhoAndWhere() {
        StopSignal signal = new StopSignal();
        signal.check(() -> {
            throw new AssertionError("the progress is computed only when stopping");
        });
        assertThat(signal.requested()).isFalse();
        assertThat(signal.reason()).isNull();

        signal.request("SIGTERM");
        signal.request("SIGINT"); // the first request wins

        assertThat(signal.requested()).isTrue();
        assertThat(signal.reason()).isEqualTo("SIGTERM");
        assertThatThrownBy(() -> signal.check(() -> "after step 12 of 250"))
                .isInstanceOfSatisfying(StoppedException.class, e -> {
                    assertThat(e).hasMessage("stopped by SIGTERM after step 12 of 250");
                    assertThat(e.reason()).isEqualTo("SIGTERM");
                    assertThat(e.progress()).isEqualTo("after step 12 of 250");
                });
        assertThat(signal.stopped("")).hasMessage("stopped by SIGTERM");
    }

    @Test
    void stoppedNeedsARequest() {
        assertThatThrownBy(() -> new StopSignal().stopped("after step 1")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theCurrentSignalIsTheOneBoundToTheThreadAndBindingsNest() throws InterruptedException {
        StopSignal outer = new StopSignal();
        StopSignal inner = new StopSignal();
        StopSignal unbound = StopSignal.current();
        unbound.request("nobody"); // a signal of its own: requesting it stops nothing else
        assertThat(StopSignal.current().requested()).isFalse();

        try (StopSignal.Binding first = outer.bind()) {
            assertThat(StopSignal.current()).isSameAs(outer).isSameAs(first.signal());
            try (StopSignal.Binding second = inner.bind()) {
                assertThat(StopSignal.current()).isSameAs(inner);
                AtomicReference<StopSignal> other = new AtomicReference<>();
                Thread thread = new Thread(() -> other.set(StopSignal.current()));
                thread.start();
                thread.join();
                assertThat(other.get()).as("another thread's signal").isNotSameAs(inner).isNotSameAs(outer);
            }
            assertThat(StopSignal.current()).isSameAs(outer);
        }
        assertThat(StopSignal.current()).isNotSameAs(outer);
    }

    @Test
    void aRequestFromAnotherThreadIsSeenByTheLoop() throws InterruptedException {
        StopSignal signal = new StopSignal();
        Thread requester = new Thread(() -> signal.request("a cancel request"));
        int steps = 0;
        try (StopSignal.Binding bound = signal.bind()) {
            StopSignal stop = StopSignal.current();
            requester.start();
            requester.join();
            for (; steps < 1000; steps++) {
                int done = steps;
                stop.check(() -> "after step " + done);
            }
        } catch (StoppedException e) {
            assertThat(e).hasMessage("stopped by a cancel request after step 0");
        }
        assertThat(steps).isZero();
    }
}
