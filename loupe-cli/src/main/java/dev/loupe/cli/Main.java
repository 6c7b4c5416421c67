package dev.loupe.cli;

import dev.loupe.cli.command.CacheCommand;
import dev.loupe.cli.command.DemoCommand;
import dev.loupe.cli.command.DownloadCommand;
import dev.loupe.cli.command.GenerateCommand;
import dev.loupe.cli.command.HooksCommand;
import dev.loupe.cli.command.LensCommand;
import dev.loupe.cli.command.SaeCommand;
import dev.loupe.cli.command.ServeCommand;
import dev.loupe.cli.command.ShellCommand;
import dev.loupe.cli.command.TrainCommand;
import dev.loupe.cli.command.ViewCommand;
import dev.loupe.cli.support.LoupeCommand;
import dev.loupe.cli.support.LoupeVersion;
import dev.loupe.numeric.HugePages;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code loupe} command: mechanistic interpretability of transformer language models from the
 * shell. Run through the {@code loupe} script at the repository's root, which builds it on first use.
 */
@Command(
        name = "loupe",
        mixinStandardHelpOptions = true,
        versionProvider = LoupeVersion.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        header = "Loupe: look inside transformer language models (a Java TransformerLens).",
        description = {
            "",
            "Runs Hugging Face models (a folder with config.json and model.safetensors) and exposes every"
                    + " activation under TransformerLens's hook names.",
            ""
        },
        commandListHeading = "%nCommands:%n",
        subcommands = {DemoCommand.class, HooksCommand.class, CacheCommand.class, GenerateCommand.class,
            LensCommand.class, SaeCommand.class, ViewCommand.class, ServeCommand.class, ShellCommand.class, TrainCommand.class,
            DownloadCommand.class,
            CommandLine.HelpCommand.class},
        footer = {
            "",
            "Start with `loupe demo`. Run `loupe COMMAND --help` for a command's options.",
            "Exit codes: 0 success; 1 bad input or failure (one line on stderr, prefixed 'loupe: ');"
                    + " 2 wrong usage."
        })
public final class Main implements Runnable {
    /**
     * System properties that keep DJL and SLF4J quiet, and Java2D headless, when the JVM was started
     * without the script's flags. The DJL and SLF4J values copy the flags in {@code scripts/jvm-env.sh},
     * which {@code ./loupe} passes; keep them identical ({@code JvmEnvTest} in loupe-bench checks).
     */
    private static final String[][] QUIET_DEFAULTS = {
        {"ai.djl.offline", "true"},
        {"ai.djl.pytorch.graph_optimizer", "false"},
        {"org.slf4j.simpleLogger.defaultLogLevel", "warn"},
        {"org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "off"},
        {"org.slf4j.simpleLogger.log.ai.djl.pytorch.jni.LibUtils", "off"},
        // PNG views draw with Java2D, which needs no display when headless.
        {"java.awt.headless", "true"},
    };

    @Spec
    CommandSpec spec;

    /** Without a command: say which ones exist (usage error, exit code 2). */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing a command: pick one of "
                + String.join(", ", spec.subcommands().keySet().stream().filter(n -> !n.equals("help")).toList())
                + ".");
    }

    public static void main(String[] args) {
        for (String[] property : QUIET_DEFAULTS) {
            if (System.getProperty(property[0]) == null) {
                System.setProperty(property[0], property[1]);
            }
        }
        HugePages.request(); // before any tensor: libtorch's allocator reads it once
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line as {@link #main} runs it: as {@code new CommandLine(new Main())}, but a usage
     * error prints one line and a hint instead of the whole help.
     */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setParameterExceptionHandler(new ShortUsageErrors());
        return cli;
    }

    /** Prints {@code loupe: <reason>} and where to get help, instead of the whole usage text. */
    static final class ShortUsageErrors implements IParameterExceptionHandler {
        @Override
        public int handleParseException(ParameterException e, String[] args) {
            CommandLine cli = e.getCommandLine();
            PrintWriter err = cli.getErr();
            err.println("loupe: " + LoupeCommand.oneLine(e.getMessage()));
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, err)) {
                err.println("Try '" + cli.getCommandSpec().qualifiedName() + " --help' for more information.");
            }
            err.flush();
            return cli.getCommandSpec().exitCodeOnInvalidInput();
        }
    }
}
