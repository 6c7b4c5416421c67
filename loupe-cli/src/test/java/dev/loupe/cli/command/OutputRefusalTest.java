package dev.loupe.cli.command;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Issue 19, item 2: no command writes over its inputs or into a model or lens folder it reads (the
 * reproduction: {@code loupe cache --out MODEL/model.safetensors} replaced the model and exited 0).
 * Every refusal is a usage error (exit code 2) with a message naming the output and the input, and
 * leaves every input byte for byte as it was. The models and the lens are copies, so that a failing
 * check can harm nothing in the repository.
 */
class OutputRefusalTest {
    @TempDir
    static Path shared;

    /** Copies of testdata/models/gpt2 (tiny, no tokenizer), testdata/models/gpt2-tok and testdata/lens. */
    private static Path gpt2;
    private static Path gpt2Tok;
    private static Path lens;

    @TempDir
    Path dir;

    /** Every file of the copies, with its bytes, before the command. */
    private Map<Path, byte[]> before;

    @BeforeAll
    static void copyInputs() throws IOException {
        gpt2 = copy(CliTestSupport.GPT2, shared.resolve("gpt2"));
        gpt2Tok = copy(CliTestSupport.GPT2_TOK, shared.resolve("gpt2-tok"));
        lens = copy(Path.of("../testdata/lens"), shared.resolve("lens"));
    }

    @BeforeEach
    void snapshot() throws IOException {
        before = contents(shared);
    }

    @Test
    void cacheRefusesTheModelsOwnWeightsAndTheInputFile() throws IOException {
        Path weights = gpt2.resolve("model.safetensors");
        refused(run("cache", "--model", gpt2.toString(), "--input", input().toString(), "--out", weights.toString()),
                "--out " + weights + " is inside the model folder " + gpt2 + " (--model), which this command reads");
        Path in = input();
        refused(run("cache", "--model", gpt2.toString(), "--input", in.toString(), "--out", in.toString()),
                "--out " + in + " is the --input file " + in + ": writing it would destroy the input");
        assertThat(Files.readAllBytes(in)).isEqualTo(Files.readAllBytes(CliTestSupport.GPT2_REFERENCE));
    }

    @Test
    void pathsAreComparedAsTheFileSystemResolvesThem() throws IOException {
        // A link to the weights, the weights through "..", and a new file inside the folder through a link to it.
        Path link = Files.createSymbolicLink(dir.resolve("link.safetensors"), gpt2.resolve("model.safetensors"));
        Path folderLink = Files.createSymbolicLink(dir.resolve("model-link"), gpt2);
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.safetensors"), gpt2.resolve("new.safetensors"));
        for (Path out : List.of(link, gpt2.resolve("../gpt2/model.safetensors"), folderLink.resolve("acts.safetensors"),
                dangling)) {
            refused(run("cache", "--model", gpt2.toString(), "--input", input().toString(), "--out", out.toString()),
                    "is inside the model folder");
        }
        Path in = input();
        Path inLink = Files.createSymbolicLink(dir.resolve("in-link.safetensors"), in);
        refused(run("cache", "--model", folderLink.toString(), "--input", inLink.toString(), "--out", in.toString()),
                "is the --input file " + inLink);
        assertThat(gpt2.resolve("new.safetensors")).doesNotExist();
    }

    @Test
    void generateRefusesTheModelFolderAndTheInputFile() throws IOException {
        Path in = input();
        refused(run("generate", "--model", gpt2.toString(), "--input", in.toString(), "--no-stop-at-eos", "--out",
                gpt2.resolve("config.json").toString()), "is inside the model folder");
        refused(run("generate", "--model", gpt2.toString(), "--input", in.toString(), "--no-stop-at-eos", "--out",
                in.toString()), "is the --input file");
    }

    @Test
    void lensCommandsRefuseTheModelFolderTheLensFolderAndTheData() throws IOException {
        refused(run("lens", "apply", "--model", gpt2Tok.toString(), "--lens", lens.toString(), "--prompt", "Hi",
                "--output", lens.resolve("params.pt").toString()), "is inside the lens folder " + lens + " (--lens)");
        refused(run("lens", "apply", "--model", gpt2Tok.toString(), "--lens", lens.toString(), "--prompt", "Hi",
                "--output", gpt2Tok.resolve("out.safetensors").toString()), "is inside the model folder");
        refused(run("lens", "trajectory", "--model", gpt2Tok.toString(), "--lens", lens.toString(), "--prompt", "Hi",
                "--output", lens.resolve("config.json").toString()), "is inside the lens folder");

        Path corpus = Files.writeString(dir.resolve("corpus.txt"), "Some text to train on.");
        refused(run("lens", "train", "--model", gpt2Tok.toString(), "--data", corpus.toString(), "--lens-name-or-path",
                lens.toString(), "--output", lens.toString()), "--output " + lens + " is inside the lens folder " + lens
                + " (--lens-name-or-path)");
        refused(run("lens", "train", "--model", gpt2Tok.toString(), "--data", corpus.toString(), "--output",
                gpt2Tok.resolve("tuned-lens").toString()), "is inside the model folder");
        Path clash = Files.writeString(dir.resolve("config.json"), "{\"text\": \"data\"}");
        refused(run("lens", "train", "--model", gpt2Tok.toString(), "--data", clash.toString(), "--output",
                dir.toString()), "--output " + dir + " (its config.json) is the --data file " + clash);
        refused(run("lens", "eval", "--model", gpt2Tok.toString(), "--data", corpus.toString(), "--output",
                gpt2Tok.toString()), "is inside the model folder");
        assertThat(Files.readString(clash)).isEqualTo("{\"text\": \"data\"}");
    }

    @Test
    void viewsAndTheDemoRefuseTheModelFolder() {
        refused(run("view", "attention", "--model", gpt2Tok.toString(), "--prompt", "Hi", "--out",
                gpt2Tok.resolve("attention.html").toString()), "is inside the model folder");
        refused(run("view", "trajectory", "--model", gpt2Tok.toString(), "--lens", lens.toString(), "--prompt", "Hi",
                "--out", lens.resolve("trajectory.png").toString()), "is inside the lens folder");
        refused(run("view", "patching", "--model", gpt2Tok.toString(), "--prompt", "Hi", "--corrupted", "Yo", "--out",
                gpt2Tok.resolve("patching.html").toString()), "is inside the model folder");
        refused(run("demo", "--model", gpt2Tok.toString(), "--out-dir", gpt2Tok.toString()),
                "--out-dir " + gpt2Tok + " is inside the model folder");
    }

    /** Runs {@code loupe args...} as {@code Main} does (short usage errors). */
    private static CliTestSupport.Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new CliTestSupport.Result(code, out.toString(), err.toString());
    }

    /**
     * Asserts a usage error (exit code 2): {@code loupe: } and a message with {@code message}, then where
     * to find help; and that no input changed.
     */
    private void refused(CliTestSupport.Result result, String message) {
        assertThat(result.exitCode()).as("exit code; stderr: %s", result.err()).isEqualTo(2);
        List<String> lines = result.err().lines().toList();
        assertThat(lines).as(result.err()).hasSize(2);
        assertThat(lines.get(0)).startsWith("loupe: ").contains(message);
        assertThat(lines.get(1)).startsWith("Try 'loupe ").endsWith(" --help' for more information.");
        try {
            Map<Path, byte[]> after = contents(shared);
            assertThat(after.keySet()).as("the files of the model and lens folders").isEqualTo(before.keySet());
            before.forEach((file, bytes) -> assertThat(after.get(file)).as("%s", file).isEqualTo(bytes));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A fresh copy of the fixture's input_ids. */
    private Path input() throws IOException {
        Path in = dir.resolve("in.safetensors");
        Files.copy(CliTestSupport.GPT2_REFERENCE, in, StandardCopyOption.REPLACE_EXISTING);
        return in;
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Files.copy(file, to.resolve(file.getFileName().toString()));
            }
        }
        return to;
    }

    private static Map<Path, byte[]> contents(Path root) throws IOException {
        Map<Path, byte[]> contents = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                contents.put(file, Files.readAllBytes(file));
            }
        }
        return contents;
    }
}
