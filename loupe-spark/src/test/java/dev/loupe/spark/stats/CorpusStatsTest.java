package dev.loupe.spark.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import dev.loupe.analysis.heads.DetectionPattern;
import dev.loupe.analysis.heads.ErrorMeasure;
import dev.loupe.analysis.heads.HeadDetector;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.model.HookedTransformer;
import dev.loupe.spark.SparkTesting;
import dev.loupe.spark.harvest.Harvest;
import dev.loupe.spark.harvest.HarvestOptions;
import dev.loupe.spark.harvest.HarvestSchema;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Corpus statistics over a harvest equal direct computations over its rows and a brute-force sort. */
class CorpusStatsTest {
    private static final String HOOKS = "blocks\\.[01]\\.hook_resid_post|blocks\\.0\\.mlp\\.hook_post";
    private static final int CHUNK = 16;

    private static SparkSession spark;
    private static Path folder;
    private static Dataset<Row> harvested;
    private static List<Row> rows;
    private static List<String> hooks;

    @BeforeAll
    static void harvest() throws Exception {
        spark = SparkTesting.session();
        folder = Files.createTempDirectory("corpus-stats");
        HarvestOptions options = HarvestOptions.of(SparkTesting.MODEL, HOOKS, CHUNK, 3);
        Harvest.writeParquet(Harvest.harvest(spark, SparkTesting.documents(), options), folder.resolve("h.parquet"));
        harvested = spark.read().parquet(folder.resolve("h.parquet").toString());
        rows = harvested.collectAsList();
        List<String> columns = List.of(harvested.columns());
        hooks = columns.subList(HarvestSchema.firstHookColumn(), columns.size());
    }

    @AfterAll
    static void clean() throws Exception {
        try (var files = Files.walk(folder)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void momentsAndMeansEqualADirectComputation() throws Exception {
        Map<String, Moments> moments = CorpusMoments.of(harvested);
        MeanActivations.write(moments, folder.resolve("means.safetensors"));
        assertThat(moments.keySet()).containsExactlyElementsOf(hooks);
        double worst = 0;
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile means = SafetensorsFile.open(folder.resolve("means.safetensors"))) {
            for (int h = 0; h < hooks.size(); h++) {
                Moments m = moments.get(hooks.get(h));
                float[] written = means.load(hooks.get(h), manager).toFloatArray();
                int column = HarvestSchema.firstHookColumn() + h;
                for (int d = 0; d < m.width(); d++) {
                    double sum = 0;
                    float min = Float.POSITIVE_INFINITY;
                    float max = Float.NEGATIVE_INFINITY;
                    for (Row row : rows) {
                        float x = row.<Float>getList(column).get(d);
                        sum += x;
                        min = Math.min(min, x);
                        max = Math.max(max, x);
                    }
                    double mean = sum / rows.size();
                    double squares = 0;
                    for (Row row : rows) {
                        double dx = row.<Float>getList(column).get(d) - mean;
                        squares += dx * dx;
                    }
                    double variance = squares / rows.size();
                    worst = Math.max(worst, Math.abs(m.mean()[d] - mean) / Math.max(1, Math.abs(mean)));
                    worst = Math.max(worst, Math.abs(m.variance()[d] - variance) / Math.max(1, variance));
                    worst = Math.max(worst, Math.abs(written[d] - mean) / Math.max(1, Math.abs(mean)));
                    assertThat(m.min()[d]).isEqualTo(min);
                    assertThat(m.max()[d]).isEqualTo(max);
                }
                assertThat(m.count()).isEqualTo(rows.size());
            }
        }
        System.out.println("CorpusStatsTest: largest difference of mean/variance to the direct computation " + worst);
        assertThat(worst).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void topContextsEqualABruteForceSort() {
        String hook = "blocks.0.mlp.hook_post";
        int column = HarvestSchema.firstHookColumn() + hooks.indexOf(hook);
        List<List<NeuronContext>> top = TopContexts.of(harvested, hook, 3, 2);
        List<Row> ordered = new ArrayList<>(rows);
        ordered.sort(Comparator.<Row>comparingInt(r -> r.getInt(0)).thenComparingInt(r -> r.getInt(1))
                .thenComparingInt(r -> r.getInt(3)));
        int width = rows.get(0).getList(column).size();
        assertThat(top).hasSize(width);
        for (int d = 0; d < width; d++) {
            int dim = d;
            List<Row> byValue = new ArrayList<>(ordered);
            // Stable: equal values keep their (group, chunk, position) order.
            byValue.sort(Comparator.comparing((Row r) -> r.<Float>getList(column).get(dim)).reversed());
            for (int rank = 0; rank < 3; rank++) {
                Row want = byValue.get(rank);
                NeuronContext got = top.get(d).get(rank);
                assertThat(List.of(got.group(), got.chunk(), got.position()))
                        .containsExactly(want.getInt(0), want.getInt(1), want.getInt(3));
                assertThat(got.value()).isEqualTo(want.<Float>getList(column).get(d));
                int index = ordered.indexOf(want);
                int from = Math.max(0, want.getInt(3) - 2);
                int to = Math.min(CHUNK - 1, want.getInt(3) + 2);
                long[] tokens = new long[to - from + 1];
                float[] values = new float[to - from + 1];
                for (int p = from; p <= to; p++) {
                    Row neighbour = ordered.get(index - want.getInt(3) + p);
                    tokens[p - from] = neighbour.getLong(4);
                    values[p - from] = neighbour.<Float>getList(column).get(d);
                }
                assertThat(got.tokens()).containsExactly(tokens);
                assertThat(got.values()).containsExactly(values);
                assertThat(got.peak()).isEqualTo(want.getInt(3) - from);
            }
        }
        try (HookedTransformer model = SparkTesting.MODEL.load()) {
            String html = TopContexts.report("neuroscope", top, List.of(0, 1), model.tokenizer()).toHtml();
            assertThat(html).contains("neuron 0").contains("neuron 1");
        }
    }

    @Test
    void topContextsAlongADirectionEqualABruteForceSort() {
        String hook = "blocks.1.hook_resid_post";
        int column = HarvestSchema.firstHookColumn() + hooks.indexOf(hook);
        int width = rows.get(0).getList(column).size();
        float[] direction = new float[width];
        for (int d = 0; d < width; d++) {
            direction[d] = (float) Math.sin(d + 1.0);
        }
        List<NeuronContext> top = TopContexts.alongDirection(harvested, hook, direction, 4, 1);
        List<Row> byProjection = new ArrayList<>(rows);
        byProjection.sort(Comparator.comparingInt((Row r) -> r.getInt(0)).thenComparingInt(r -> r.getInt(1))
                .thenComparingInt(r -> r.getInt(3)));
        byProjection.sort(Comparator.comparingDouble((Row r) -> project(r, column, direction)).reversed());
        for (int rank = 0; rank < 4; rank++) {
            Row want = byProjection.get(rank);
            assertThat(List.of(top.get(rank).group(), top.get(rank).chunk(), top.get(rank).position()))
                    .containsExactly(want.getInt(0), want.getInt(1), want.getInt(3));
            assertThat((double) top.get(rank).value()).isCloseTo(project(want, column, direction), within(1e-5));
        }
    }

    private static float project(Row row, int column, float[] direction) {
        List<Float> values = row.getList(column);
        double dot = 0;
        for (int d = 0; d < direction.length; d++) {
            dot += (double) values.get(d) * direction[d];
        }
        return (float) dot;
    }

    @Test
    void headScoresEqualTheDetectorAveragedOverChunks() {
        HarvestOptions options = HarvestOptions.of(SparkTesting.MODEL, HOOKS, CHUNK, 3);
        double[][] mean = CorpusHeadScores.mean(Harvest.chunks(spark, SparkTesting.documents(), options),
                SparkTesting.MODEL, "previous_token_head", false, false, ErrorMeasure.MUL);
        try (HookedTransformer model = SparkTesting.MODEL.load(); NDManager manager = NDManager.newBaseManager()) {
            TokenChunks chunks = TokenChunks.of(SparkTesting.documents(), model.tokenizer(), CHUNK);
            double[][] want = new double[mean.length][mean[0].length];
            for (long[] chunk : chunks.chunks()) {
                float[][] scores = HeadDetector.detectHead(model, manager.create(chunk), DetectionPattern.PREVIOUS_TOKEN,
                        null, HeadDetector.Options.defaults());
                for (int l = 0; l < want.length; l++) {
                    for (int h = 0; h < want[l].length; h++) {
                        want[l][h] += scores[l][h] / chunks.chunks().size();
                    }
                }
            }
            for (int l = 0; l < want.length; l++) {
                for (int h = 0; h < want[l].length; h++) {
                    assertThat(mean[l][h]).isCloseTo(want[l][h], within(1e-5));
                }
            }
        }
    }
}
