package dev.loupe.train;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A progress bar with the loss, for a terminal:
 * {@code [########............] 1200/3000  40%  loss 2.3141  lr 8.1e-04  12.3 steps/s  ETA 2:26}.
 * On a terminal it redraws one line ({@code \r}); otherwise (a log file, a test) it prints a line
 * every tenth of the run, so logs stay short.
 */
public final class ProgressBar implements TrainingProgress {
    private static final int WIDTH = 24;

    private final PrintWriter out;
    private final long total;
    private final boolean redraw;
    private final long startNanos = System.nanoTime();
    private final long firstStep;
    private long lastPrinted = -1;
    private long lastDrawNanos;

    /**
     * @param out where to draw
     * @param firstStep the step the run starts at (after a resume, the checkpoint's)
     * @param total the step the run ends at
     * @param redraw whether {@code out} is a terminal that understands {@code \r}
     */
    public ProgressBar(PrintWriter out, long firstStep, long total, boolean redraw) {
        this.out = out;
        this.firstStep = firstStep;
        this.total = total;
        this.redraw = redraw;
    }

    /** A bar on standard error, redrawn in place when a console is attached. */
    public static ProgressBar onStandardError(long firstStep, long total) {
        return new ProgressBar(new PrintWriter(System.err, true), firstStep, total, System.console() != null);
    }

    @Override
    public void update(long done, double loss, double lr) {
        update(done, loss, lr, "");
    }

    @Override
    public void update(long done, double loss, double lr, String detail) {
        long now = System.nanoTime();
        boolean last = done >= total;
        if (redraw) {
            if (!last && now - lastDrawNanos < 100_000_000L) {
                return; // at most ten redraws a second
            }
            lastDrawNanos = now;
            out.print("\r" + line(done, loss, lr, now) + detail + (last ? "\n" : ""));
            out.flush();
            return;
        }
        long tenth = Math.max(1, total / 10);
        if (last || done / tenth != lastPrinted / tenth || lastPrinted < 0) {
            lastPrinted = done;
            out.println(line(done, loss, lr, now) + detail);
            out.flush();
        }
    }

    /** The bar's text for {@code done} steps. */
    String line(long done, double loss, double lr, long nowNanos) {
        double fraction = total == 0 ? 1 : Math.min(1.0, (double) done / total);
        int filled = (int) Math.round(fraction * WIDTH);
        double seconds = (nowNanos - startNanos) / 1e9;
        double rate = seconds > 0 ? (done - firstStep) / seconds : 0;
        String eta = rate > 0 ? clock((total - done) / rate) : "?";
        return String.format(Locale.ROOT, "[%s%s] %d/%d %3d%%  loss %.4f  lr %.1e  %.1f steps/s  ETA %s",
                "#".repeat(filled), ".".repeat(WIDTH - filled), done, total, Math.round(fraction * 100), loss, lr,
                rate, eta);
    }

    private static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
