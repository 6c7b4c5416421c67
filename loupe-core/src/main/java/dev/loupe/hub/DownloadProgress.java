package dev.loupe.hub;

import java.io.Console;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Reports a file's download as it goes. {@link #forConsole()} draws a one-line bar on stderr (bytes,
 * rate, time left) when stderr belongs to a terminal and stays quiet otherwise, so logs and pipes
 * get no control characters.
 */
public interface DownloadProgress {
    /** Shows nothing. */
    DownloadProgress QUIET = new DownloadProgress() {
        @Override
        public void start(String name, long total, long already) {}

        @Override
        public void advance(long bytes) {}

        @Override
        public void finish() {}
    };

    /** A download of {@code total} bytes starts, {@code already} of them on disk from an earlier try. */
    void start(String name, long total, long already);

    /** {@code bytes} more arrived. */
    void advance(long bytes);

    /** The download ended, well or not. */
    void finish();

    /** A bar on stderr when the process has a console, else {@link #QUIET}. */
    static DownloadProgress forConsole() {
        return hasTerminal() ? new TerminalBar(System.err) : QUIET;
    }

    /**
     * Whether the process runs in a terminal: it has a console, and (from Java 22, where
     * {@code System.console()} may answer even when redirected) that console is a terminal.
     */
    private static boolean hasTerminal() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException e) {
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }

    /** Redraws one line with a carriage return, at most ten times a second. */
    final class TerminalBar implements DownloadProgress {
        private static final long REDRAW_NANOS = 100_000_000L;

        private final PrintStream out;
        private String name;
        private long total;
        private long done;
        private long startDone;
        private long startNanos;
        private long lastDraw;

        TerminalBar(PrintStream out) {
            this.out = out;
        }

        @Override
        public void start(String name, long total, long already) {
            this.name = name;
            this.total = total;
            this.done = already;
            this.startDone = already;
            this.startNanos = System.nanoTime();
            this.lastDraw = 0;
            draw(startNanos);
        }

        @Override
        public void advance(long bytes) {
            done += bytes;
            long now = System.nanoTime();
            if (now - lastDraw >= REDRAW_NANOS) {
                draw(now);
            }
        }

        @Override
        public void finish() {
            draw(System.nanoTime());
            out.println();
            out.flush();
        }

        private void draw(long now) {
            lastDraw = now;
            out.print("\r" + line(name, done, total, done - startDone, (now - startNanos) / 1e9) + "\u001b[K");
            out.flush();
        }

        /**
         * {@code model.safetensors  45% 3.0/6.7 MB  1.2 MB/s  ETA 3s}.
         *
         * @param fresh bytes fetched in this run (the rate counts only these)
         * @param seconds time since the run started
         */
        static String line(String name, long done, long total, long fresh, double seconds) {
            double rate = seconds > 0 ? fresh / seconds : 0;
            String percent = total > 0 ? String.format(Locale.ROOT, "%3d%%", Math.min(100, done * 100 / total)) : "  ?%";
            String eta = rate > 0 && total > 0 ? "ETA " + duration((total - done) / rate) : "ETA ?";
            return String.format(Locale.ROOT, "%s %s %s/%s  %s/s  %s", name, percent, bytes(done),
                    total >= 0 ? bytes(total) : "?", bytes((long) rate), eta);
        }

        static String bytes(long n) {
            if (n < 1000) {
                return n + " B";
            }
            String[] units = {"kB", "MB", "GB", "TB"};
            double value = n;
            int unit = -1;
            while (value >= 1000 && unit < units.length - 1) {
                value /= 1000;
                unit++;
            }
            return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
        }

        static String duration(double seconds) {
            long s = Math.round(seconds);
            if (s < 60) {
                return s + "s";
            }
            if (s < 3600) {
                return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
            }
            return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
        }
    }
}
