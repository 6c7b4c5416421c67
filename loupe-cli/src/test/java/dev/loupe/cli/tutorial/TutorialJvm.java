package dev.loupe.cli.tutorial;

import dev.loupe.cli.command.ShellCommand;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a tutorial page in a JVM of its own whose working directory is the repository, so that the pages'
 * {@code Path.of("models/...")} resolve as they do for a reader who starts {@code loupe shell} there. The JVM
 * runs {@link #main}: the page's blocks in a {@link TutorialShell}, each block's output written to a file
 * of a work folder, and the first failure to {@code failure.txt}.
 */
final class TutorialJvm {
    private static final long TIMEOUT_MINUTES = 5;

    /**
     * What a page's run printed.
     *
     * @param printed each block's output, for the blocks that ran
     * @param failure why the next block failed, or null when every block ran
     */
    record Result(List<String> printed, String failure) {}

    private TutorialJvm() {}

    /**
     * Runs {@code page}.
     *
     * @param root the repository
     * @param jvmFlags flags for the JVM (the tests' own: offline DJL, logging, native access)
     * @param work an empty folder for the block outputs
     */
    static Result run(Path root, Path page, List<String> jvmFlags, Path work) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.awt.headless=true", "-Duser.language=en", "-Duser.country=US"));
        // The pages print with printf: an English locale writes their decimal points as the pages show them.
        command.addAll(jvmFlags);
        command.addAll(List.of("-cp", ShellCommand.classPath(), TutorialJvm.class.getName(), page.toString(),
                work.toString()));
        Path log = work.resolve("jvm.log");
        Process process = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!process.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
            process.destroyForcibly().waitFor();
            return new Result(outputs(work), page + " ran longer than " + TIMEOUT_MINUTES + " minutes");
        }
        Path failure = work.resolve("failure.txt");
        if (Files.exists(failure)) {
            return new Result(outputs(work), Files.readString(failure, StandardCharsets.UTF_8));
        }
        if (process.exitValue() != 0) {
            return new Result(outputs(work), "the tutorial JVM exited with " + process.exitValue() + ":\n"
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
        return new Result(outputs(work), null);
    }

    private static List<String> outputs(Path work) throws IOException {
        List<String> printed = new ArrayList<>();
        for (int i = 0; Files.exists(blockFile(work, i)); i++) {
            printed.add(Files.readString(blockFile(work, i), StandardCharsets.UTF_8));
        }
        return printed;
    }

    private static Path blockFile(Path work, int index) {
        return work.resolve(String.format("block-%03d.out", index));
    }

    /** In the tutorial's JVM: {@code PAGE WORK}. */
    public static void main(String[] args) throws IOException {
        Path page = Path.of(args[0]);
        Path work = Path.of(args[1]);
        TutorialPage tutorial = TutorialPage.read(page);
        try (TutorialShell shell = new TutorialShell()) {
            for (int i = 0; i < tutorial.blocks().size(); i++) {
                TutorialPage.Block block = tutorial.blocks().get(i);
                long start = System.nanoTime();
                String printed = shell.run(page.getFileName() + ":" + block.line(), block.code());
                // To jvm.log: where a page's time goes.
                System.err.printf("%s:%d ran in %.1f s%n", page.getFileName(), block.line(),
                        (System.nanoTime() - start) / 1e9);
                Files.writeString(blockFile(work, i), printed, StandardCharsets.UTF_8);
            }
        } catch (AssertionError | RuntimeException e) {
            StringWriter trace = new StringWriter();
            if (!(e instanceof AssertionError)) {
                e.printStackTrace(new PrintWriter(trace));
            }
            Files.writeString(work.resolve("failure.txt"), e.getMessage() + "\n" + trace, StandardCharsets.UTF_8);
        }
        // JShell and DJL leave threads behind; the result is on disk.
        System.exit(0);
    }
}
