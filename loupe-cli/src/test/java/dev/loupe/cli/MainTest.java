package dev.loupe.cli;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The {@code loupe} command itself: help, version, usage errors. */
class MainTest {
    @Test
    void helpListsTheCommands() {
        CliTestSupport.Result result = run("--help");
        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).contains("Usage: loupe", "demo", "hooks", "cache");

        CliTestSupport.Result cacheHelp = run("cache", "--help");
        assertThat(cacheHelp.out()).contains("safetensors.numpy import load_file", "--no-processing",
                "centred over the vocabulary", "per-position constant", "--prompt=TEXT", "--input=IN",
                "--padding-side=left|right", "--no-prepend-bos", "attention_mask");

        CliTestSupport.Result demoHelp = run("demo", "--help");
        assertThat(demoHelp.out()).contains("--prompt=TEXT", "--tokens=IDS", "models/induction-2l", "induction")
                .doesNotContain("not implemented");
    }

    @Test
    void versionNamesLoupeAndDjl() {
        CliTestSupport.Result result = run("--version");
        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).startsWith("loupe 0.").contains("DJL 0.35.1").doesNotContain("${");
    }

    @Test
    void noCommandIsAUsageError() {
        CliTestSupport.Result result = run();
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.err()).contains("Missing a command: pick one of demo, hooks, cache, generate, lens, sae, view,"
                + " serve, shell, train, download");
    }

    @Test
    void mainsCommandLinePrintsShortUsageErrors() {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(new StringWriter(), true));

        assertThat(cli.execute("hooks", "--pos", "3")).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("loupe: Missing required option: '--model=MODEL'\n"
                + "Try 'loupe hooks --help' for more information.\n");
    }
}
