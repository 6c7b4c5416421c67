package dev.loupe.cli.support;

import ai.djl.engine.EngineException;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StopSignal;
import dev.loupe.stop.StoppedException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A subcommand. Expected failures (bad files, bad arguments, errors Loupe reports) become one line
 * on stderr, {@code loupe: <reason>}, and exit code 1, never a stack trace. Anything else is a bug
 * and keeps picocli's default handling (stack trace, exit code 1).
 *
 * <p>Stopping: the command runs with a {@link StopSignal} bound to its thread, which SIGINT, SIGTERM
 * and SIGHUP request ({@link SignalStop}); the library's loops poll it at their safe points and
 * throw {@link StoppedException}, and a command's own long phases call {@link #safePoint(String)}
 * between them. A stopped command prints one line, {@code loupe: stopped by SIGTERM after step 12 of
 * 250; the last checkpoint is ...}, and exits with 130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP); the
 * JVM exits only after that, never while the command is inside libtorch. A command with nothing to
 * stop safely (no libtorch, or a tool with its own handling of Ctrl-C) overrides
 * {@link #stopsAtSafePoints()}.
 */
public abstract class LoupeCommand implements Callable<Integer> {
    /** The command as picocli built it. */
    @Spec
    protected CommandSpec spec;

    /** The command's work; returns the exit code. */
    protected abstract int execute() throws IOException;

    /**
     * Whether SIGINT, SIGTERM and SIGHUP stop this command at its next safe point (true); false
     * leaves the JVM's handling (exit at once), for commands that never run libtorch in a long loop
     * or have their own handling of Ctrl-C ({@code shell}, {@code download}).
     */
    protected boolean stopsAtSafePoints() {
        return true;
    }

    @Override
    public final Integer call() {
        StopSignal stop = new StopSignal();
        SignalStop signals = stopsAtSafePoints() ? SignalStop.install(stop, err()) : null;
        try (StopSignal.Binding bound = stop.bind()) {
            return run(signals);
        } finally {
            if (signals != null) {
                signals.close();
            }
        }
    }

    private int run(SignalStop signals) {
        try {
            return execute();
        } catch (StoppedException e) {
            PrintWriter err = err();
            if (System.console() != null) {
                err.println(); // off the line a progress bar or ^C left
            }
            err.println("loupe: " + oneLine(e.getMessage()));
            err.flush();
            return signals != null ? signals.exitCode() : 1;
        } catch (LoupeException | IOException | UncheckedIOException e) {
            return fail(e.getMessage() == null ? e.toString() : e.getMessage());
        } catch (PatternSyntaxException e) {
            return fail("--hooks: bad regular expression '" + e.getPattern() + "': " + e.getDescription()
                    + (e.getIndex() >= 0 ? " near index " + e.getIndex() : ""));
        } catch (EngineException e) {
            return fail("the PyTorch engine failed: " + e.getMessage());
        }
    }

    /**
     * A safe point between a command's own long phases (forward passes, writing the output): throws
     * {@link StoppedException} if the command was asked to stop.
     *
     * @param where where the command is, for the message: {@code "before writing out.safetensors"}
     */
    public static void safePoint(String where) {
        StopSignal.current().check(() -> where);
    }

    /** Where the command prints its results. */
    /**
     * Runs PyTorch on one intra-op and one inter-op thread, unless the user set either: a training run's numbers
     * then do not depend on the machine's core count, and a small model's many small operations only wait on a
     * second thread. Takes effect only before the engine starts, as in a fresh {@code loupe} process.
     */
    protected static void useOneEngineThread() {
        for (String property : new String[] {"ai.djl.pytorch.num_threads", "ai.djl.pytorch.num_interop_threads"}) {
            if (System.getProperty(property) == null) {
                System.setProperty(property, "1");
            }
        }
    }

    protected PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** Where the command prints progress and timings (stderr). */
    protected PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Prints {@code loupe: message} on one line to stderr and returns exit code 1. */
    protected int fail(String message) {
        PrintWriter err = err();
        err.println("loupe: " + oneLine(message));
        err.flush();
        return 1;
    }

    /** Collapses line breaks so a message stays on one line. */
    public static String oneLine(String message) {
        return message == null ? "" : message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /**
     * Throws, for a one-line error, unless the model has a tokenizer.
     *
     * @param dir the model folder
     * @param option the option that needs the tokenizer ({@code --prompt})
     * @param instead what works without one
     */
    public static void requireTokenizer(HookedTransformer model, Path dir, String option, String instead) {
        if (!model.hasTokenizer()) {
            throw new LoupeException(option + " needs the model's tokenizer, but " + dir + " has no tokenizer.json (nor"
                    + " vocab.json with merges.txt): copy the tokenizer files of the model's Hugging Face repository"
                    + " into it, or use " + instead);
        }
    }

    /** Formats a shape as {@code [1, 4, 5, 5]}; a size that depends on the input's values (-1) as {@code ?}. */
    public static String shape(long[] dims) {
        StringBuilder text = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) {
            text.append(i == 0 ? "" : ", ").append(dims[i] < 0 ? "?" : String.valueOf(dims[i]));
        }
        return text.append(']').toString();
    }
}
