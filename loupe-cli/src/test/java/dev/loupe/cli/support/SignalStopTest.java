package dev.loupe.cli.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.stop.StopSignal;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The handler's side of stopping, without real signals (StopOnSignalTest sends real ones to a real
 * command): a signal requests the stop and waits for the command; a command that reaches no safe
 * point in time is left, and the JVM exits with the signal's code.
 */
class SignalStopTest {
    @Test
    void aSignalRequestsTheStopAndWaitsUntilTheCommandIsDone() throws Exception {
        StopSignal stop = new StopSignal();
        AtomicInteger exited = new AtomicInteger(-1);
        SignalStop signals = new SignalStop(stop, new PrintWriter(new StringWriter()), 10_000, exited::set);
        CompletableFuture<Void> handler = CompletableFuture.runAsync(() -> signals.onSignal("SIGTERM", 15));
        while (!stop.requested()) {
            Thread.sleep(1);
        }
        assertThat(stop.reason()).isEqualTo("SIGTERM");
        assertThat(signals.exitCode()).isEqualTo(143);
        Thread.sleep(100);
        assertThat(handler).as("the handler waits for the command").isNotDone();

        signals.close(); // the command reached its safe point and returned
        handler.get(5, TimeUnit.SECONDS);
        assertThat(exited).as("the JVM is left to Main's exit").hasValue(-1);
    }

    @Test
    void laterSignalsOnlySayTheStopIsUnderWay() throws Exception {
        StopSignal stop = new StopSignal();
        StringWriter err = new StringWriter();
        SignalStop signals = new SignalStop(stop, new PrintWriter(err, true), 10_000, code -> { });
        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> signals.onSignal("SIGINT", 2));
        while (!stop.requested()) {
            Thread.sleep(1);
        }
        signals.onSignal("SIGINT", 2); // returns at once
        signals.onSignal("SIGTERM", 15);
        assertThat(err.toString()).startsWith("loupe: SIGINT: already stopping at the next safe point");
        assertThat(err.toString().lines()).hasSize(2);
        assertThat(signals.exitCode()).as("the first signal's code").isEqualTo(130);
        assertThat(stop.reason()).isEqualTo("SIGINT");
        signals.close();
        first.get(5, TimeUnit.SECONDS);
    }

    @Test
    void aCommandThatReachesNoSafePointInTimeIsLeftAndTheJvmExitsWithTheSignalsCode() {
        StopSignal stop = new StopSignal();
        StringWriter err = new StringWriter();
        AtomicInteger exited = new AtomicInteger(-1);
        SignalStop signals = new SignalStop(stop, new PrintWriter(err, true), 50, exited::set);
        signals.onSignal("SIGHUP", 1);
        assertThat(exited).hasValue(129);
        assertThat(err.toString()).isEqualTo("loupe: SIGHUP: the command reached no safe point within 0 s; exiting"
                + " without waiting for it" + System.lineSeparator());
        signals.close();
    }

    @Test
    void installedHandlersAreTheJvmsAgainOnceTheLastCommandIsDone() {
        SignalHandler before = Signal.handle(new Signal("TERM"), SignalHandler.SIG_DFL);
        Signal.handle(new Signal("TERM"), before);
        SignalStop first = SignalStop.install(new StopSignal(), new PrintWriter(new StringWriter()));
        SignalStop second = SignalStop.install(new StopSignal(), new PrintWriter(new StringWriter()));
        first.close();
        assertThat(first.isDone()).isTrue();
        second.close();
        SignalHandler after = Signal.handle(new Signal("TERM"), before);
        // sun.misc.Signal wraps the JVM's handlers anew each time: the same handler reads the same.
        assertThat(after).hasToString(before.toString());
        assertThat(before).isNotSameAs(SignalHandler.SIG_DFL);
    }
}
