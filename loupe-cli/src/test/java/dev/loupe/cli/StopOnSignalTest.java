package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.assertj.core.api.Assumptions.assumeThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.train.TrainingCheckpoint;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 19, item 1: SIGTERM during {@code loupe train toy} crashed the JVM (SIGSEGV in libtorch: the
 * JVM's exit ran while a backward pass was inside it, 1 try in 3). Here the real commands run in
 * their own JVMs (this JVM's java, class path and test flags) and get SIGTERM or SIGINT at seeded
 * moments after their loops started; each must stop at a safe point: exit code 143 or 130, no JVM
 * crash (no hs_err file, no fatal-error report), one {@code loupe: stopped by ...} line, no temporary
 * or partial file, and any checkpoint it left loads.
 *
 * <p>{@value #RUNS_NORMAL} signals per command in the normal run; {@value #RUNS_LONG} with
 * the long runs' flag {@code -Dloupe.long=true} ({@code ./check --long}, or {@code mvn -B verify -pl loupe-cli -am
 * -Dtest=StopOnSignalTest -Dsurefire.failIfNoSpecifiedTests=false -Dloupe.long=true}), which also prints each run.
 */
class StopOnSignalTest {
    static final int RUNS_NORMAL = 3;
    static final int RUNS_LONG = 20;
    private static final boolean LONG = Boolean.getBoolean("loupe.long");
    private static final int RUNS = LONG ? RUNS_LONG : RUNS_NORMAL;
    /** The signal comes a seeded 0 to this many milliseconds after the command's loop started. */
    private static final int MAX_DELAY_MS = 1200;

    @TempDir
    Path dir;

    @Test
    void trainToyStopsBetweenStepsAndKeepsACheckpoint() throws Exception {
        for (int run = 0; run < RUNS; run++) {
            Path work = Files.createDirectories(dir.resolve("toy-" + run));
            Path checkpoints = work.resolve("checkpoints");
            Path out = work.resolve("model");
            Stopped stopped = runAndSignal(work, run, 1, text -> text.contains("] 1/1000000"), false,
                    "train", "toy", "--layers", "2", "--steps", "1000000", "--seed", String.valueOf(run), "--out",
                    out.toString(), "--checkpoint-dir", checkpoints.toString(), "--checkpoint-every", "7");
            Matcher line = stopped.matches("loupe: stopped by (SIGTERM|SIGINT) after step (\\d+) of 1000000; the last"
                    + " checkpoint is " + Pattern.quote(checkpoints.toAbsolutePath().normalize().toString())
                    + " \\(step (\\d+)\\)");
            assertThat(line.group(3)).as("the checkpoint is of the step it stopped after").isEqualTo(line.group(2));
            assertThat(out).as("no model is written by a stopped run").doesNotExist();
            assertCheckpointLoads(checkpoints, Long.parseLong(line.group(2)));
        }
    }

    @Test
    void lensTrainStopsBetweenPassesAndKeepsACheckpoint() throws Exception {
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, EnglishText.generate(20_000, 5));
        for (int run = 0; run < RUNS; run++) {
            Path work = Files.createDirectories(dir.resolve("lens-" + run));
            Path lens = work.resolve("lens");
            Path checkpoints = lens.resolve("checkpoints");
            Stopped stopped = runAndSignal(work, run, 2, text -> text.contains("] 1/100000 "), false,
                    "lens", "train", "--model", CliTestSupport.GPT2_TOK.toAbsolutePath().toString(), "--data",
                    corpus.toString(), "--output", lens.toString(), "--max-seq-len", "64", "--tokens-per-step", "128",
                    "--per-gpu-batch-size", "1", "--num-steps", "100000", "--repeat-data", "--checkpoint-freq", "5",
                    "--seed", String.valueOf(run));
            Matcher line = stopped.matches("loupe: stopped by (SIGTERM|SIGINT) after step (\\d+) of 100000; the last"
                    + " checkpoint is " + Pattern.quote(checkpoints.toAbsolutePath().normalize().toString())
                    + " \\(step (\\d+)\\); " + Pattern.quote(lens.toString()) + " was not written");
            assertThat(line.group(3)).isEqualTo(line.group(2));
            assertThat(lens.resolve("config.json")).doesNotExist();
            assertThat(lens.resolve("params.pt")).doesNotExist();
            assertCheckpointLoads(checkpoints, Long.parseLong(line.group(2)));
        }
    }

    @Test
    void saeTrainStopsBetweenStepsAndKeepsACheckpoint() throws Exception {
        for (int run = 0; run < RUNS; run++) {
            Path work = Files.createDirectories(dir.resolve("sae-" + run));
            Path checkpoints = work.resolve("checkpoints");
            Path out = work.resolve("sae");
            Stopped stopped = runAndSignal(work, run, 4, text -> text.contains("] 1/1000000 "), false,
                    "sae", "train", "--model", CliTestSupport.GPT2.toAbsolutePath().toString(), "--hook",
                    "blocks.0.hook_resid_post", "--tokens", Path.of("../testdata/sae/training/tokens.safetensors")
                            .toAbsolutePath().toString(), "--architecture", "topk", "--k", "8", "--d-sae", "64",
                    "--training-tokens", "256000000", "--train-batch-size-tokens", "256", "--store-batch-size-prompts",
                    "16", "--n-batches-in-buffer", "4", "--seed", String.valueOf(run), "--out", out.toString(),
                    "--checkpoint-dir", checkpoints.toString(), "--checkpoint-every", "7");
            Matcher line = stopped.matches("loupe: stopped by (SIGTERM|SIGINT) after step (\\d+) of 1000000; the last"
                    + " checkpoint is " + Pattern.quote(checkpoints.toAbsolutePath().normalize().toString())
                    + " \\(step (\\d+)\\)");
            assertThat(line.group(3)).as("the checkpoint is of the step it stopped after").isEqualTo(line.group(2));
            assertThat(out).as("no SAE is written by a stopped run").doesNotExist();
            assertCheckpointLoads(checkpoints, Long.parseLong(line.group(2)));
        }
    }

    @Test
    void generateStopsBetweenTokensAndWritesNoOutput() throws Exception {
        for (int run = 0; run < RUNS; run++) {
            Path work = Files.createDirectories(dir.resolve("generate-" + run));
            Path out = work.resolve("out.safetensors");
            String prompt = "Once upon a time";
            // Streamed to stdout: the loop runs once text follows the prompt.
            Stopped stopped = runAndSignal(work, run, 3, text -> text.length() > prompt.length(), true,
                    "generate", "--model", CliTestSupport.GPT2_TOK.toAbsolutePath().toString(), "--prompt", prompt,
                    "--max-new-tokens", "1000", "--no-stop-at-eos", "--no-kv-cache", "--sample", "--seed",
                    String.valueOf(run), "--out", out.toString());
            stopped.matches("loupe: stopped by (SIGTERM|SIGINT) after (\\d+) of 1000 new tokens; "
                    + Pattern.quote(out.toString()) + " was not written");
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void lensCausalBasisStopsBetweenEvaluationsAndWritesNoOutput() throws Exception {
        Path inputs = Path.of("../testdata/lens_extra/inputs.safetensors").toAbsolutePath();
        for (int run = 0; run < RUNS; run++) {
            Path work = Files.createDirectories(dir.resolve("causal-basis-" + run));
            Path out = work.resolve("bases.safetensors");
            // 32 directions of both layers take minutes; the signal comes within the first layer's.
            Stopped stopped = runAndSignal(work, run, 6, text -> text.contains("layer 0 of 2: searching"), false,
                    "lens", "causal-basis", "--model", CliTestSupport.GPT2_TOK.toAbsolutePath().toString(), "--lens",
                    "logit", "--input", inputs.toString(), "--k", "32", "--out", out.toString());
            stopped.matches("loupe: stopped by (SIGTERM|SIGINT) while searching direction (\\d+) of layer 0; "
                    + Pattern.quote(out.toString()) + " was not written");
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void saeFeaturesStopsBetweenBatchesAndWritesNoPage() throws Exception {
        // 20 batches of 8192 sequences of 16 tokens (the batch the command picks for a 128-feature SAE).
        Path tokens = dir.resolve("tokens.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(3);
            SafetensorsWriter.write(tokens, Map.of("tokens",
                    manager.randomInteger(0, 512, new Shape(20 * 8192, 16), DataType.INT64)));
        }
        for (int run = 0; run < RUNS; run++) {
            Path work = Files.createDirectories(dir.resolve("features-" + run));
            Path out = work.resolve("pages");
            Stopped stopped = runAndSignal(work, run, 4, text -> text.contains("sae features: 8192/163840"), false,
                    "sae", "features", "--model", CliTestSupport.GPT2.toAbsolutePath().toString(), "--sae",
                    Path.of("../testdata/sae/gpt2/standard_resid_pre_l0").toAbsolutePath().toString(), "--data",
                    tokens.toString(), "--out", out.toString());
            stopped.matches("loupe: stopped by (SIGTERM|SIGINT) after (\\d+) of 163840 sequences; nothing was written");
            assertThat(out).doesNotExist();
        }
    }

    /** A command that a signal stopped: its exit code and output, checked for a crash and stray files. */
    private record Stopped(String signal, int exitCode, String out, String err, long delayMs) {
        /** Asserts that the one {@code loupe:} line, the last of stderr, matches {@code regex}; returns its groups. */
        Matcher matches(String regex) {
            List<String> loupeLines = err.lines().filter(l -> l.startsWith("loupe:")).toList();
            assertThat(loupeLines).as("the loupe lines of stderr:%n%s", err).hasSize(1);
            assertThat(err.strip().lines().reduce((a, b) -> b).orElse("")).isEqualTo(loupeLines.get(0));
            Matcher matcher = Pattern.compile(regex).matcher(loupeLines.get(0));
            assertThat(matcher.matches()).as("'%s' matches %s", loupeLines.get(0), regex).isTrue();
            assertThat(matcher.group(1)).isEqualTo(signal);
            return matcher;
        }
    }

    /**
     * Starts {@code loupe args} in a JVM of its own in {@code work}, waits until its stderr (or stdout)
     * so far passes {@code started}, sends SIGTERM or SIGINT (by the run's seed) a seeded delay
     * later, and checks that it stopped cleanly.
     */
    private Stopped runAndSignal(Path work, int run, int command, Predicate<String> started, boolean watchStdout,
            String... args) throws Exception {
        Random random = new Random(1000L * command + run);
        boolean term = run % 2 == 0;
        long delay = random.nextInt(MAX_DELAY_MS);
        Path stdout = work.resolve("stdout.txt");
        Path stderr = work.resolve("stderr.txt");
        List<String> cmd = new ArrayList<>(signalsAtDefault());
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags());
        cmd.add("-XX:ErrorFile=" + work.resolve("hs_err_pid%p.log"));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(Arrays.asList(args));
        Process process = new ProcessBuilder(cmd).directory(work.toFile()).redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            Path watched = watchStdout ? stdout : stderr;
            while (!started.test(read(watched))) {
                if (!process.isAlive()) {
                    fail("the command ended before its loop started (exit code %d):%n%s%n%s", process.exitValue(),
                            read(stdout), read(stderr));
                }
                if (System.nanoTime() > deadline) {
                    fail("the command's loop did not start within 180 s:%n%s", read(stderr));
                }
                Thread.sleep(20);
            }
            Thread.sleep(delay);
            if (term) {
                process.destroy(); // SIGTERM
            } else {
                Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).inheritIO().start();
                assertThat(kill.waitFor()).as("kill -INT").isZero();
            }
            // The handler waits up to 30 s for a safe point; a step is far shorter.
            if (!process.waitFor(90, TimeUnit.SECONDS)) {
                fail("the command did not stop within 90 s of the signal:%n%s", read(stderr));
            }
        } finally {
            process.destroyForcibly();
        }
        String err = read(stderr);
        Stopped stopped = new Stopped(term ? "SIGTERM" : "SIGINT", process.exitValue(), read(stdout), err, delay);
        if (LONG) {
            String name = args[1].startsWith("-") ? args[0] : args[0] + " " + args[1];
            System.out.printf("%s run %d: %s after %d ms, exit code %d: %s%n", name, run,
                    stopped.signal(), delay, stopped.exitCode(), err.strip().lines().reduce((a, b) -> b).orElse(""));
        }
        try (Stream<Path> files = Files.walk(work)) {
            List<String> names = files.map(p -> work.relativize(p).toString()).toList();
            assertThat(names).as("no crash report").noneMatch(name -> name.contains("hs_err"));
            assertThat(names).as("no temporary file is left").noneMatch(name -> name.endsWith(".tmp"));
        }
        assertThat(err).as("stderr").doesNotContain("A fatal error has been detected", "SIGSEGV", "Exception");
        assertThat(stopped.out()).as("stdout").doesNotContain("A fatal error has been detected", "SIGSEGV");
        assertThat(stopped.exitCode()).as("exit code; stderr:%n%s", err).isEqualTo(term ? 143 : 130);
        return stopped;
    }

    /** A file's text so far, bytes that do not decode (yet) replaced. */
    private static String read(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    }

    /** The checkpoint in {@code dir} is whole: both files at {@code step}, and every tensor reads. */
    private static void assertCheckpointLoads(Path dir, long step) {
        TrainingCheckpoint checkpoint = TrainingCheckpoint.read(dir);
        assertThat(checkpoint.step()).isEqualTo(step);
        try (SafetensorsFile tensors = SafetensorsFile.open(dir.resolve(TrainingCheckpoint.TENSORS));
             NDManager manager = NDManager.newBaseManager()) {
            assertThat(tensors.metadata()).containsEntry("step", Long.toString(step));
            assertThat(tensors.names()).isNotEmpty();
            for (String name : tensors.names()) {
                NDArray value = tensors.load(name, manager);
                assertThat(value.isNaN().any().getBoolean()).as(name).isFalse();
            }
        }
    }

    /** The JVM flags of the tests (pom.xml's loupe.test.argLine), as surefire passes them, else this JVM's. */
    private static List<String> jvmFlags() {
        String flags = System.getProperty("loupe.test.jvmFlags");
        if (flags != null && !flags.isBlank()) {
            return Arrays.stream(flags.strip().split("\\s+")).toList();
        }
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(flag -> flag.startsWith("-D") || flag.startsWith("-Xss") || flag.startsWith("--enable-native"))
                .toList();
    }

    /**
     * A prefix that starts the command with SIGINT at its default action: a JVM started by a
     * non-interactive shell's background job inherits SIGINT ignored, and a process started
     * ignoring SIGINT rightly keeps ignoring it.
     */
    private static List<String> signalsAtDefault() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return List.of();
        }
        String ignored = Files.readAllLines(status).stream().filter(l -> l.startsWith("SigIgn:")).findFirst()
                .map(l -> l.substring("SigIgn:".length()).strip()).orElse("0");
        if ((Long.parseUnsignedLong(ignored, 16) & (1L << (2 - 1))) == 0) {
            return List.of();
        }
        assumeThat(Path.of("/usr/bin/env")).as("env --default-signal, to run the command without SIGINT ignored")
                .exists();
        return List.of("/usr/bin/env", "--default-signal=INT");
    }
}
