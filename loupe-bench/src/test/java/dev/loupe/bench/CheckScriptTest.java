package dev.loupe.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./check} never lies: its decisions live in {@code scripts/check-lib.sh}, and each is run here in bash on
 * its own, as {@code ./check} runs it, without running the whole check. Waiting for apt's lock
 * ({@code loupe_apt_get}) needs apt's real lock held by another process, so it is shown by hand, never here.
 */
class CheckScriptTest {
    /** Surefire runs in the module's folder. */
    private static final Path ROOT = Path.of("..");

    private record Result(int status, String output) {}

    /** Runs {@code script} in bash from the repository root after sourcing scripts/check-lib.sh. */
    private static Result run(String script, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", "set -euo pipefail; source scripts/check-lib.sh; " + script)
                .directory(ROOT.toFile()).redirectErrorStream(true);
        builder.environment().remove("LOUPE_CHROMIUM");
        builder.environment().remove("LOUPE_CHROMEDRIVER");
        builder.environment().putAll(env);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes()).strip();
        return new Result(process.waitFor(), out);
    }

    /** What ./check does after its runs: whether Chromium is ready, the skipped tests under root, the verdict. */
    private static final String FINISH = """
            incomplete=""
            if ! why="$(loupe_chromium_ready)"; then incomplete="$why"; fi
            loupe_check_verdict "$(loupe_skipped_tests "$ROOT_DIR")" "$ALLOW" "" "$incomplete"
            """;

    /** A Surefire report as the browser tests leave it when Chromium is missing: every test skipped. */
    private static Path reportsWithSkippedBrowserTests(Path root, int skipped) throws IOException {
        Path reports = Files.createDirectories(root.resolve("loupe-viz/target/surefire-reports"));
        Files.writeString(reports.resolve("TEST-dev.loupe.viz.AttentionViewBrowserTest.xml"),
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"dev.loupe.viz.AttentionViewBrowserTest\""
                        + " time=\"0.1\" tests=\"" + skipped + "\" errors=\"0\" skipped=\"" + skipped + "\" failures=\"0\">"
                        + "</testsuite>\n");
        return root;
    }

    @Test
    void withoutChromiumTheCheckEndsIncompleteAndFailsNeverAllPassed(@TempDir Path dir)
            throws IOException, InterruptedException {
        Path root = reportsWithSkippedBrowserTests(dir, 7);
        Result result = run(FINISH, Map.of("LOUPE_CHROMIUM", "/nonexistent", "ROOT_DIR", root.toString(), "ALLOW", "false"));
        assertThat(result.status()).as(result.output()).isNotZero();
        assertThat(result.output()).contains("INCOMPLETE: 7 tests skipped because Chromium is unavailable (/nonexistent")
                .doesNotContain("all passed");
    }

    @Test
    void allowIncompleteAcceptsItButStillSaysIncomplete(@TempDir Path dir) throws IOException, InterruptedException {
        Path root = reportsWithSkippedBrowserTests(dir, 7);
        Result result = run(FINISH, Map.of("LOUPE_CHROMIUM", "/nonexistent", "ROOT_DIR", root.toString(), "ALLOW", "true"));
        assertThat(result.status()).as(result.output()).isZero();
        assertThat(result.output()).contains("INCOMPLETE: 7 tests skipped because Chromium is unavailable")
                .doesNotContain("all passed");
    }

    @Test
    void aSkippedTestAloneMakesItIncomplete(@TempDir Path dir) throws IOException, InterruptedException {
        Result result = run("loupe_check_verdict 2 false '' ''", Map.of());
        assertThat(result.status()).isNotZero();
        assertThat(result.output()).contains("INCOMPLETE: 2 tests skipped because").doesNotContain("all passed");
    }

    @Test
    void aMissingRunMakesItIncompleteAndAFailureFails() throws IOException, InterruptedException {
        Result noJdk25 = run("loupe_check_verdict 0 false '' 'the JDK 25 run could not start'", Map.of());
        assertThat(noJdk25.status()).isNotZero();
        assertThat(noJdk25.output()).contains("INCOMPLETE: 0 tests skipped because the JDK 25 run could not start");
        Result failed = run("loupe_check_verdict 0 true 'JDK 25' ''", Map.of());
        assertThat(failed.status()).isNotZero();
        assertThat(failed.output()).contains("check: FAILED under: JDK 25").doesNotContain("all passed");
    }

    @Test
    void onlyEverythingRunAndPassedIsAllPassed(@TempDir Path dir) throws IOException, InterruptedException {
        Path browser = Files.createFile(dir.resolve("chromium"));
        browser.toFile().setExecutable(true);
        Result result = run(FINISH, Map.of("LOUPE_CHROMIUM", browser.toString(), "LOUPE_CHROMEDRIVER", browser.toString(),
                "ROOT_DIR", dir.toString(), "ALLOW", "false"));
        assertThat(result.status()).as(result.output()).isZero();
        assertThat(result.output()).isEqualTo("check: all passed");
    }

    /**
     * The JDK 25 run cleans first, so it compiles every module under JDK 25: without it the compiler plugin finds the
     * default JDK's classes up to date and compiles nothing (shown by hand on a one-class project: "Nothing to
     * compile" under JDK 25 after JDK 17 compiled, "Compiling 1 source file" after a clean). This guards the line.
     */
    @Test
    void theJdk25RunCleansSoThatItCompilesAgain() throws IOException {
        assertThat(Files.readString(ROOT.resolve("check")).lines().filter(line -> line.contains("JAVA_HOME=\"$JDK25\" mvn")))
                .singleElement().asString().contains("mvn -B clean verify");
    }
}
