package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.GPT2_TOK;
import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.cli.CliTestSupport;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe lens train} then {@code loupe lens eval} on the GPT-2 fixture with project-written English. */
class LensTrainEvalCommandTest {
    @TempDir
    Path dir;

    @Test
    void aTrainedLensIsWrittenLoadsAndIsEvaluated() throws Exception {
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, EnglishText.generate(20_000, 5));
        Path lens = dir.resolve("lens");
        CliTestSupport.Result train = run("lens", "train", "--model", GPT2_TOK.toString(), "--data", corpus.toString(),
                "--output", lens.toString(), "--max-seq-len", "64", "--tokens-per-step", "128", "--num-steps", "3",
                "--per-gpu-batch-size", "2", "--checkpoint-freq", "2");
        assertThat(train.exitCode()).as(train.err()).isZero();
        assertThat(train.out()).contains("Trained 3 steps").contains("layer  1");
        assertThat(train.err()).contains("3/3");
        assertThat(lens.resolve("params.pt")).exists();
        assertThat(lens.resolve("checkpoints/checkpoint.json")).exists();
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(GPT2_TOK);
             TunedLens loaded = TunedLens.load(lens, model)) {
            assertThat(loaded.bias(0).abs().sum().getFloat()).isPositive();
        }

        Path eval = dir.resolve("eval");
        CliTestSupport.Result result = run("lens", "eval", "--model", GPT2_TOK.toString(), "--data", corpus.toString(),
                "--lens", lens.toString(), "--output", eval.toString(), "--max-seq-len", "64", "--tokens", "512");
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("512 tokens").contains("tuned kl");
        JsonNode metrics = new ObjectMapper().readTree(eval.resolve("aggregate_metrics.json").toFile());
        assertThat(metrics.at("/logit/kl/layer_1").asDouble()).isPositive();
        assertThat(metrics.at("/tuned/ce/layer_0").asDouble()).isPositive();
        assertThat(metrics.at("/baseline/ce/final").asDouble()).isPositive();
    }

    @Test
    void tooLittleDataAndUnknownChoicesAreRefused() throws Exception {
        Path corpus = dir.resolve("small.txt");
        Files.writeString(corpus, EnglishText.generate(2_000, 5));
        run("lens", "train", "--model", GPT2_TOK.toString(), "--data", corpus.toString(), "--output",
                dir.resolve("lens").toString(), "--max-seq-len", "64", "--tokens-per-step", "128")
                .failedWithOneLine("--repeat-data");
        CliTestSupport.Result wrong = run("lens", "train", "--model", GPT2_TOK.toString(), "--data", corpus.toString(),
                "--output", dir.resolve("lens").toString(), "--loss", "mse");
        assertThat(wrong.exitCode()).isEqualTo(2);
        assertThat(wrong.err()).contains("--loss must be one of [kl, ce]");
    }
}
