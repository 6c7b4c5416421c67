package dev.loupe.spark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.eval.LensEvalFiles;
import dev.loupe.lens.eval.LensEvalOptions;
import dev.loupe.lens.eval.LensEvaluator;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.TunedLensTrainer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.LensReference;
import dev.loupe.spark.SparkTesting;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TextDocuments;
import dev.loupe.tokenize.TokenChunks;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe lens eval --spark} and {@code loupe lens train --spark} through {@link SparkMain} (the main
 * {@code ./loupe} starts for them) on local[2], against what the single-machine commands compute on the same text:
 * {@link LensEvaluator} and {@link TunedLensTrainer} on the chunks {@code loupe lens eval|train} cut.
 */
class LensSparkCommandsTest {
    private static final String MODEL = LensReference.MODEL.model();
    private static final Path TEXT = Fixtures.ROOT.resolve("text/loupe.txt");
    private static final Path LENS = Fixtures.ROOT.resolve("lens");

    @Test
    void lensEvalWritesTheSingleMachineAggregateMetrics(@TempDir Path dir) throws IOException {
        SparkTesting.session();
        Path output = dir.resolve("spark");
        int status = SparkMain.run("lens", "eval", "--spark", "--master", "local[2]", "--partitions", "3", "--model",
                MODEL, "--data", TEXT.toString(), "--lens", LENS.toString(), "--max-seq-len", "32",
                "--per-gpu-batch-size", "3", "--output", output.toString());
        assertThat(status).isZero();

        HookedTransformer model = ExecutorModels.get(LensReference.MODEL);
        try (TunedLens lens = TunedLens.load(LENS, model)) {
            TokenChunks chunks = TokenChunks.of(TextDocuments.read(List.of(TEXT), TextDocuments.TEXT_COLUMN),
                    model.tokenizer(), 32);
            LensEvalOptions options = new LensEvalOptions(32, 3, null, 1, 42, lens.hook(), true, false, false);
            LensEvalFiles.write(dir.resolve("single"), LensEvaluator.run(model, lens, chunks, options));
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode single = json.readTree(dir.resolve("single").resolve(LensEvalFiles.AGGREGATE).toFile());
        JsonNode spread = json.readTree(output.resolve(LensEvalFiles.AGGREGATE).toFile());
        double worst = largestDifference(single, spread);
        System.out.println("LensSparkCommandsTest: aggregate_metrics.json largest difference " + worst);
        assertThat(worst).isLessThanOrEqualTo(1e-5);
        assertThat(spread.path("tuned").path("kl").size()).as("the tuned lens's KL per layer").isPositive();
    }

    @Test
    void lensTrainEqualsOneProcessWithTheSameBatch(@TempDir Path dir) {
        SparkTesting.session();
        Path output = dir.resolve("lens");
        int status = SparkMain.run("lens", "train", "--spark", "--master", "local[2]", "--partitions", "2", "--model",
                MODEL, "--data", TEXT.toString(), "--max-seq-len", "32", "--tokens-per-step", "128", "--num-steps", "3",
                "--warmup-steps", "1", "--repeat-data", "--output", output.toString());
        assertThat(status).isZero();

        HookedTransformer model = ExecutorModels.get(LensReference.MODEL);
        TokenChunks chunks = TokenChunks.of(TextDocuments.read(List.of(TEXT), TextDocuments.TEXT_COLUMN),
                model.tokenizer(), 32);
        LensTrainingOptions options = LensTrainingOptions.builder().numSteps(3).tokensPerStep(128).maxSeqLen(32)
                .perGpuBatchSize(1).warmupSteps(1).seed(42).repeatData(true).build();
        try (TunedLens single = TunedLens.create(model); TunedLens spread = TunedLens.load(output, model)) {
            TunedLensTrainer.train(model, single, chunks, options, null);
            Map<String, float[]> reference = LensReference.values(single);
            double worst = LensReference.largestDifference(reference, spread);
            System.out.println("LensSparkCommandsTest: trained lens largest parameter difference " + worst);
            assertThat(worst).isLessThanOrEqualTo(1e-5);
            try (TunedLens start = TunedLens.create(model)) {
                assertThat(LensReference.largestDifference(reference, start)).as("three steps moved the lens")
                        .isGreaterThan(1e-4);
            }
        }
    }

    private static double largestDifference(JsonNode a, JsonNode b) {
        if (a.isNumber()) {
            assertThat(b.isNumber()).as("a number in both files").isTrue();
            return Math.abs(a.doubleValue() - b.doubleValue());
        }
        assertThat(b.size()).isEqualTo(a.size());
        double worst = 0;
        for (int i = 0; a.isArray() && i < a.size(); i++) {
            worst = Math.max(worst, largestDifference(a.get(i), b.get(i)));
        }
        Iterator<Map.Entry<String, JsonNode>> fields = a.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            assertThat(b.has(field.getKey())).as(field.getKey()).isTrue();
            worst = Math.max(worst, largestDifference(field.getValue(), b.get(field.getKey())));
        }
        return worst;
    }
}
