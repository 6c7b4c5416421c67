package dev.loupe.cli.command;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.config.WeightDtype;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe shell} in its own JVM, as a user starts it, with its input piped in. */
class ShellCommandTest {
    @TempDir
    Path dir;

    /** One JVM for both (each start loads JShell, DJL and the model): a script file, then piped input. */
    @Test
    void runsAScriptFileThenAPipedOneLinerOnTheLoadedModelAndExits() throws Exception {
        Path script = dir.resolve("shape.jsh");
        Files.writeString(script, "var cache = runWithCache(\"The quick brown fox\");\n"
                + "System.out.println(\"RESID \" + cache.get(\"blocks.1.hook_resid_pre\").getShape());\n"
                + "System.out.println(\"HEADS \" + model.config().nHeads());\n");
        Shell shell = shell(List.of(script.toString()),
                "try (var c = runWithCache(\"Hello, world!\")) { System.out.println(\"SHAPE \""
                        + " + c.get(\"blocks.0.attn.hook_pattern\").getShape()); }\n"
                        + "/exit\n");
        assertThat(shell.exitCode).as(shell.output).isZero();
        assertThat(shell.output).contains("Loupe shell (JShell). `model` is ", "gpt2-tok", "RESID (1, 5, 32)",
                "HEADS 4", "SHAPE (1, 4, 5, 5)");
        assertThat(shell.output.indexOf("RESID")).isLessThan(shell.output.indexOf("SHAPE"));
        assertThat(shell.output).doesNotContain("Error:", "Exception");
    }

    @Test
    void mistakesAreReportedOnOneLine() {
        CliTestSupport.run("shell", "--model", CliTestSupport.GPT2_TOK.toString(), "no-such-script.jsh")
                .failedWithOneLine("the JShell script no-such-script.jsh does not exist");
        CliTestSupport.run("shell", "--no-model", "--model", "x")
                .failedWithOneLine("--model and --no-model are contradictory");
    }

    @Test
    void startupScriptQuotesTheModelPath() {
        String script = ShellCommand.startupScript(Path.of("/tmp/a \"b\\c"), true, WeightDtype.FLOAT32);
        assertThat(script).contains("Path.of(\"/tmp/a \\\"b\\\\c\")", "import dev.loupe.viz.*;",
                "ActivationCache runWithCache(String text)");
        assertThat(ShellCommand.startupScript(null, true, WeightDtype.FLOAT32)).doesNotContain("var model");
        assertThat(ShellCommand.classPath().split(File.pathSeparator))
                .anyMatch(entry -> entry.contains("loupe-viz") || entry.endsWith("classes"));
    }

    private record Shell(int exitCode, String output) {}

    private static Shell shell(List<String> scripts, String input) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dloupe.home=..", "-cp", ShellCommand.classPath(), "dev.loupe.cli.Main", "shell",
                "--model", CliTestSupport.GPT2_TOK.toString()));
        command.addAll(scripts);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (OutputStream stdin = process.getOutputStream()) {
            stdin.write(input.getBytes(StandardCharsets.UTF_8));
        }
        byte[] output = process.getInputStream().readAllBytes();
        boolean ended = process.waitFor(60, TimeUnit.SECONDS);
        if (!ended) {
            process.destroyForcibly();
        }
        assertThat(ended).as("the shell ended").isTrue();
        return new Shell(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    }
}
