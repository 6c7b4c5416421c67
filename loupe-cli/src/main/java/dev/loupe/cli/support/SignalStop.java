package dev.loupe.cli.support;

import dev.loupe.stop.StopSignal;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * How a command stops on SIGINT, SIGTERM or SIGHUP: at a safe point, never while a thread is inside
 * libtorch. {@link LoupeCommand} installs one around every command ({@link #install}) and closes it
 * when the command has returned.
 *
 * <p>On the first signal the handler {@linkplain StopSignal#request requests} the command's
 * {@link StopSignal} (named {@code "SIGTERM"}, say) and then waits, up to {@link #WAIT_SECONDS}
 * seconds, until the command is done: its loops throw {@code StoppedException} at their next safe
 * point, {@link LoupeCommand} prints the one line and returns {@link #exitCode()} (128 + the signal's
 * number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, as shells report a process the signal
 * ended), and only then does {@code Main} exit the JVM. So the JVM never exits under a backward
 * pass: the crash of issue 19 (SIGSEGV in libtorch as the JVM's exit ran while a training step was
 * inside it) cannot happen. A command that finishes before reaching a safe point keeps its own exit
 * code: its outputs are complete. Later signals only say that the command is stopping. If the
 * command reaches no safe point in time, the handler exits the JVM itself, with the same code.
 *
 * <p>Any other shutdown of the JVM while the command runs ({@code System.exit} from elsewhere, a
 * signal the JVM handles itself when {@code sun.misc.Signal} cannot be used) runs a shutdown hook
 * that requests the stop too ({@code "a shutdown of the JVM"}) and waits the same way before the
 * JVM goes on exiting.
 *
 * <p>A signal the process was started ignoring (SIGINT of a background job, {@code nohup}) stays
 * ignored. While no command runs, the JVM's own handlers are in place; commands run at the same
 * time (tests) share one set of handlers, which stop them all.
 */
public final class SignalStop implements AutoCloseable {
    /** How long a signal waits for the command to reach a safe point and finish before the JVM exits anyway. */
    public static final int WAIT_SECONDS = 30;

    /** The signals handled, with their numbers on Linux and macOS. */
    private static final Map<String, Integer> SIGNALS = Map.of("INT", 2, "TERM", 15, "HUP", 1);

    private static final Object LOCK = new Object();
    private static final Set<SignalStop> ACTIVE = new LinkedHashSet<>();
    private static final Map<Signal, SignalHandler> PREVIOUS = new LinkedHashMap<>();

    private final StopSignal stop;
    private final PrintWriter err;
    private final long waitMillis;
    private final IntConsumer exit;
    private final CountDownLatch done = new CountDownLatch(1);
    private final AtomicInteger signals = new AtomicInteger();
    private final Thread hook;
    private volatile int exitCode = 1;
    private volatile boolean gaveUp;

    SignalStop(StopSignal stop, PrintWriter err, long waitMillis, IntConsumer exit) {
        this.stop = stop;
        this.err = err;
        this.waitMillis = waitMillis;
        this.exit = exit;
        this.hook = new Thread(this::onShutdown, "loupe-stop-at-shutdown");
    }

    /**
     * Handles SIGINT, SIGTERM and SIGHUP, and the JVM's shutdown, by requesting {@code stop} and
     * waiting for the command, until {@link #close()}.
     *
     * @param err where the handler reports a second signal or a command that reached no safe point
     */
    public static SignalStop install(StopSignal stop, PrintWriter err) {
        SignalStop installed = new SignalStop(stop, err, TimeUnit.SECONDS.toMillis(WAIT_SECONDS), System::exit);
        installed.register();
        return installed;
    }

    /** What the command returns once stopped: 128 + the signal's number, or 1 for another shutdown. */
    public int exitCode() {
        return exitCode;
    }

    /** The command is done: releases a waiting handler and restores the JVM's handlers. */
    @Override
    public void close() {
        done.countDown();
        synchronized (LOCK) {
            ACTIVE.remove(this);
            if (ACTIVE.isEmpty()) {
                PREVIOUS.forEach(Signal::handle);
                PREVIOUS.clear();
            }
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The JVM is exiting; the hook returns at once since the command is done.
        }
    }

    void register() {
        synchronized (LOCK) {
            if (ACTIVE.isEmpty()) {
                for (Map.Entry<String, Integer> signal : SIGNALS.entrySet()) {
                    try {
                        Signal which = new Signal(signal.getKey());
                        PREVIOUS.put(which, Signal.handle(which, SignalStop::dispatch));
                    } catch (IllegalArgumentException | UnsupportedOperationException unavailable) {
                        // This JVM keeps the signal (-Xrs, another OS): the shutdown hook still waits.
                    }
                }
            }
            ACTIVE.add(this);
        }
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Runs in the JVM's thread for the signal: every running command is told. */
    private static void dispatch(Signal signal) {
        List<SignalStop> targets;
        synchronized (LOCK) {
            targets = new ArrayList<>(ACTIVE);
        }
        Integer number = SIGNALS.get(signal.getName());
        for (SignalStop target : targets) {
            target.onSignal("SIG" + signal.getName(), number != null ? number : signal.getNumber());
        }
    }

    /** The first signal requests the stop and waits for the command; later ones say it is under way. */
    void onSignal(String name, int number) {
        if (signals.incrementAndGet() > 1) {
            if (done.getCount() > 0) {
                err.println("loupe: " + name + ": already stopping at the next safe point (the JVM exits within "
                        + TimeUnit.MILLISECONDS.toSeconds(waitMillis) + " s of the first signal)");
                err.flush();
            }
            return;
        }
        exitCode = 128 + number;
        stop.request(name);
        awaitCommand(name);
        if (gaveUp) {
            exit.accept(exitCode);
        }
    }

    /** A shutdown that no handled signal started: stop the command and let the JVM exit once it is done. */
    private void onShutdown() {
        if (done.getCount() == 0 || gaveUp) {
            return;
        }
        stop.request("a shutdown of the JVM");
        awaitCommand(stop.reason());
    }

    private void awaitCommand(String name) {
        try {
            if (!done.await(waitMillis, TimeUnit.MILLISECONDS)) {
                gaveUp = true;
                err.println("loupe: " + name + ": the command reached no safe point within "
                        + TimeUnit.MILLISECONDS.toSeconds(waitMillis) + " s; exiting without waiting for it");
                err.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the command is done ({@link #close()} ran); for tests. */
    boolean isDone() {
        return done.getCount() == 0;
    }
}
