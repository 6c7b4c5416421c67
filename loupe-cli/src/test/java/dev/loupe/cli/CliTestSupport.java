package dev.loupe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import picocli.CommandLine;

/** Runs the CLI in-process and reads what it wrote. */
public final class CliTestSupport {
    /** Tiny random GPT-2 (vocabulary 512), from loupe-cli's working directory. */
    public static final Path GPT2 = Path.of("../testdata/models/gpt2");
    /** Its Hugging Face outputs: input_ids [2, 16] int64, logits [2, 16, 512], hidden_states.i ... */
    public static final Path GPT2_REFERENCE = GPT2.resolve("reference.safetensors");
    /** TransformerLens's cache of the unprocessed model on the same input_ids. */
    public static final Path TL_CACHE = Path.of("../testdata/tl/gpt2/cache_unprocessed.safetensors");
    /** GPT-2 architecture, real vocabulary, random weights. */
    public static final Path GPT2_TOK = Path.of("../testdata/models/gpt2-tok");

    private CliTestSupport() {}

    /** What a command printed and returned. */
    public record Result(int exitCode, String out, String err) {
        /** Asserts a failure reported the loupe way: exit code 1, one line on stderr, no stack trace. */
        public Result failedWithOneLine(String containing) {
            assertThat(exitCode).as("exit code; stderr: %s", err).isEqualTo(1);
            assertThat(err).startsWith("loupe: ").contains(containing).doesNotContain("\tat ").endsWith("\n");
            assertThat(err.strip().lines()).hasSize(1);
            return this;
        }
    }

    /** Runs {@code loupe args...} as {@code new CommandLine(new Main()).execute(args)}. */
    public static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    /** A tensor of a safetensors file as float32 values. */
    public static float[] floats(Path file, String name) {
        try (SafetensorsFile in = SafetensorsFile.open(file); NDManager manager = NDManager.newBaseManager()) {
            return in.load(name, manager).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        }
    }

    /** A tensor of a safetensors file as int64 values. */
    public static long[] longs(Path file, String name) {
        try (SafetensorsFile in = SafetensorsFile.open(file); NDManager manager = NDManager.newBaseManager()) {
            return in.load(name, manager).toLongArray();
        }
    }

    /** Asserts {@code |actual - expected| <= atol} elementwise; equal infinities count as equal. */
    public static void assertClose(String what, float[] actual, float[] expected, double atol) {
        assertThat(actual.length).as("%s: number of elements", what).isEqualTo(expected.length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < actual.length; i++) {
            if (actual[i] == expected[i]) {
                continue;
            }
            double diff = Math.abs((double) actual[i] - expected[i]);
            if (!(diff <= worst)) {
                worst = diff;
                at = i;
            }
        }
        assertThat(worst).as("%s: max |diff| (at flat index %d: %s vs %s)", what, at,
                at < 0 ? "" : actual[at], at < 0 ? "" : expected[at]).isLessThanOrEqualTo(atol);
    }
}
