package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./loupe} script's first run says it is building, and roughly for how long, then one line per
 * module Maven builds, instead of a silent minute. Run on a copy of the script in an empty repository, with
 * an {@code mvn} on the PATH that prints Maven's module lines and fails, so nothing is built.
 */
class LoupeScriptTest {
    @TempDir
    Path home;

    @Test
    void theFirstRunSaysItIsBuildingThenEachModule() throws IOException, InterruptedException {
        Path script = Files.copy(Path.of("../loupe"), home.resolve("loupe"), StandardCopyOption.COPY_ATTRIBUTES);
        Path bin = Files.createDirectories(home.resolve("bin"));
        Path mvn = Files.writeString(bin.resolve("mvn"), String.join("\n", "#!/usr/bin/env bash",
                // Maven 3.8's lines, as `mvn -B -pl loupe-core,loupe-lens validate` prints them.
                "echo '[INFO] ------------------------< dev.loupe:loupe-core >------------------------'",
                "echo '[INFO] Building Loupe core 0.1.0-SNAPSHOT                                 [1/4]'",
                "echo '[INFO] --------------------------------[ jar ]---------------------------------'",
                "echo '[INFO] ------------------------< dev.loupe:loupe-lens >------------------------'",
                "echo '[INFO] Building Loupe lenses (logit lens, tuned lens, prediction trajectories) 0.1.0-SNAPSHOT [2/4]'",
                "echo '[ERROR] COMPILATION ERROR'",
                "exit 3", ""));
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createDirectories(home.resolve("loupe-cli/src"));

        ProcessBuilder builder = new ProcessBuilder("bash", script.toString(), "--version").directory(home.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        Process process = builder.start();
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(process.waitFor()).isEqualTo(3);
        assertThat(err.lines().toList()).startsWith(
                "loupe: building Loupe first (a source changed, or the first run): about 1-2 minutes on 2 cores,"
                        + " several more if Maven has to download its libraries",
                "loupe:   loupe-core (1/4)",
                "loupe:   loupe-lens (2/4)");
        assertThat(err).contains("[ERROR] COMPILATION ERROR").contains("loupe: the build failed");
    }
}
