package dev.loupe.stop;

/**
 * Thrown by a loop at a safe point once its {@link StopSignal} was requested: the run stopped
 * cleanly, with nothing half-written. Not a {@code LoupeException} (the input was fine) and not an
 * error: callers that catch it report the message and end (the command line exits with 128 + the
 * signal's number, 130 for SIGINT and 143 for SIGTERM, as shells do).
 *
 * <p>The message is one line: {@code "stopped by SIGTERM after step 12 of 250; the last checkpoint
 * is /runs/ck (step 12)"}.
 */
public final class StoppedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String reason;
    private final String progress;

    /**
     * @param reason what asked for the stop ({@link StopSignal#reason()})
     * @param progress how far the run got, or empty
     */
    public StoppedException(String reason, String progress) {
        super("stopped by " + reason + (progress == null || progress.isEmpty() ? "" : " " + progress));
        this.reason = reason;
        this.progress = progress == null ? "" : progress;
    }

    /** What asked for the stop: {@code "SIGTERM"}. */
    public String reason() {
        return reason;
    }

    /** How far the run got: {@code "after step 12 of 250; the last checkpoint is ..."}; may be empty. */
    public String progress() {
        return progress;
    }
}
