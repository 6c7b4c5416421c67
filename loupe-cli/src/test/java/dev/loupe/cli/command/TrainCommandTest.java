package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.floats;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe train toy}, and {@code loupe cache} on the native folder it writes. */
class TrainCommandTest {
    private static final String[] TINY = {"--d-model", "16", "--heads", "2", "--vocab", "20", "--context", "12",
        "--batch-size", "4", "--steps", "6"};

    @TempDir
    Path tmp;

    private CliTestSupport.Result train(String... extra) {
        String[] args = new String[3 + TINY.length + extra.length];
        args[0] = "train";
        args[1] = "toy";
        args[2] = "--out=" + tmp.resolve("model");
        System.arraycopy(TINY, 0, args, 3, TINY.length);
        System.arraycopy(extra, 0, args, 3 + TINY.length, extra.length);
        return run(args);
    }

    @Test
    void trainsAModelThatLoadsAndCaches() {
        CliTestSupport.Result result = train("--layers", "1", "--seed", "3");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Trained attn-only-1l (1 attention-only layer, d_model 16, 2 heads,"
                + " vocabulary 20, context 12, rotary positions)", "Steps              6 (this run: 0 to 6), seed 3",
                "Evaluation loss",
                "Wrote ");
        assertThat(result.err()).contains("6/6 100%  loss ");
        Path model = tmp.resolve("model");
        try (HookedTransformer loaded = HookedTransformer.fromPretrainedNoProcessing(model)) {
            assertThat(loaded.config().attnOnly()).isTrue();
            assertThat(loaded.config().dVocab()).isEqualTo(20);
        }

        // loupe cache reads the native folder, processed (the default) and not.
        Path input = tmp.resolve("in.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            SafetensorsWriter.write(input, Map.of("input_ids", manager.create(new long[][] {{0, 5, 6, 7, 5, 6, 7}})));
        }
        Path raw = cache(model, input, "raw.safetensors", "--no-processing");
        Path processed = cache(model, input, "processed.safetensors");
        // Processing changes logits by a constant per position only: the log-probabilities agree.
        assertThat(logSoftmaxDiff(floats(raw, "logits"), floats(processed, "logits"), 20)).isLessThan(1e-4);
    }

    private Path cache(Path model, Path input, String name, String... extra) {
        Path out = tmp.resolve(name);
        String[] args = {"cache", "--model", model.toString(), "--input", input.toString(), "--out", out.toString()};
        String[] all = java.util.Arrays.copyOf(args, args.length + extra.length);
        System.arraycopy(extra, 0, all, args.length, extra.length);
        CliTestSupport.Result cached = run(all);
        assertThat(cached.exitCode()).as(cached.err()).isZero();
        try (SafetensorsFile file = SafetensorsFile.open(out)) {
            assertThat(file.names()).contains("blocks.0.attn.hook_pattern", "blocks.0.hook_resid_post", "logits")
                    .doesNotContain("blocks.0.hook_mlp_out");
            assertThat(file.info("blocks.0.attn.hook_pattern").shape()).containsExactly(1L, 2L, 7L, 7L);
        }
        return out;
    }

    @Test
    void usageErrorsSayWhatIsMissing() {
        CliTestSupport.Result noKind = run("train");
        assertThat(noKind.exitCode()).isEqualTo(2);
        assertThat(noKind.err()).contains("Missing what to train", "toy");
        assertThat(run("train", "toy", "--out", tmp.toString()).exitCode()).isEqualTo(2); // no --layers
        CliTestSupport.Result resume = train("--layers", "1", "--resume");
        assertThat(resume.exitCode()).isEqualTo(2);
        assertThat(resume.err()).contains("--resume needs --checkpoint-dir");
        train("--layers", "0").failedWithOneLine("n_layers >= 1");
    }

    @Test
    void aResumedRunWritesTheSameModel() {
        Path checkpoints = tmp.resolve("checkpoints");
        CliTestSupport.Result whole = train("--layers", "1", "--checkpoint-dir", checkpoints.toString(),
                "--checkpoint-every", "3");
        assertThat(whole.exitCode()).as(whole.err()).isZero();
        float[] wholeWeights = floats(tmp.resolve("model/model.safetensors"), "blocks.0.attn.W_Q");

        // Resuming from the final checkpoint does no step and writes the same weights.
        CliTestSupport.Result resumed = train("--layers", "1", "--checkpoint-dir", checkpoints.toString(),
                "--checkpoint-every", "3", "--resume");
        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        assertThat(resumed.out()).contains("(this run: 6 to 6)");
        assertThat(floats(tmp.resolve("model/model.safetensors"), "blocks.0.attn.W_Q")).containsExactly(wholeWeights);
    }

    private static double logSoftmaxDiff(float[] a, float[] b, int vocab) {
        double worst = 0;
        for (int row = 0; row < a.length / vocab; row++) {
            double[] la = logSoftmax(a, row * vocab, vocab);
            double[] lb = logSoftmax(b, row * vocab, vocab);
            for (int i = 0; i < vocab; i++) {
                worst = Math.max(worst, Math.abs(la[i] - lb[i]));
            }
        }
        return worst;
    }

    private static double[] logSoftmax(float[] values, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, values[from + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(values[from + i] - max);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = values[from + i] - max - Math.log(sum);
        }
        return out;
    }
}
