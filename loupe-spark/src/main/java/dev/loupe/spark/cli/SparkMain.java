package dev.loupe.spark.cli;

import dev.loupe.LoupeException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The main of the Spark commands, which the {@code loupe} script starts instead of the plain CLI's for
 * {@code loupe spark ...} and {@code loupe lens eval|train --spark}; also the main class of {@code spark-submit}.
 */
@Command(name = "loupe", mixinStandardHelpOptions = true, subcommands = {SparkMain.Spark.class, SparkMain.Lens.class},
        description = "Loupe's Spark commands.")
public final class SparkMain {
    /** {@code loupe spark harvest|stats}. */
    @Command(name = "spark", mixinStandardHelpOptions = true, subcommands = {HarvestCommand.class, StatsCommand.class},
            description = "Harvest activations and corpus statistics with Apache Spark.")
    static final class Spark {}

    /** {@code loupe lens eval|train --spark}. */
    @Command(name = "lens", mixinStandardHelpOptions = true, subcommands = {LensEvalSparkCommand.class,
        LensTrainSparkCommand.class}, description = "Tuned-lens evaluation and training with Apache Spark (--spark).")
    static final class Lens {}

    private SparkMain() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs one command line; returns its exit status (a LoupeException, also one a task threw on an executor that
     * reaches the driver as the cause of Spark's: its message and status 1).
     */
    public static int run(String... args) {
        CommandLine line = new CommandLine(new SparkMain());
        line.setExecutionExceptionHandler((e, cmd, parsed) -> {
            for (Throwable cause = e; cause != null; cause = cause.getCause()) {
                if (cause instanceof LoupeException) {
                    cmd.getErr().println("loupe: " + cause.getMessage());
                    return 1;
                }
            }
            throw e;
        });
        return line.execute(args);
    }
}
