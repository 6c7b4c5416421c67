package dev.loupe.spark.harvest;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.train.ActivationStore;
import dev.loupe.sae.train.StoredActivations;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.SparkTesting;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A harvest on the gpt2-tok fixture equals core's runWithCache (what {@code loupe cache} writes) on the chunks of
 * {@code TokenChunks.of} with the same weight processing, whatever the partitioning.
 */
class HarvestTest {
    private static final String HOOKS = "hook_embed|blocks\\.[01]\\.hook_resid_post|blocks\\.0\\.attn\\.hook_pattern";
    private static final String RESID = "blocks.1.hook_resid_post";
    private static final int CHUNK = 16;

    private static SparkSession spark;
    private static HookedTransformer model;
    private static List<String> documents;
    private static TokenChunks chunks;
    /** runWithCache's values by hook: [chunks, pos, width] flattened. */
    private static Map<String, float[]> expected;
    private static Map<String, Integer> widths;

    @BeforeAll
    static void harvestDirectly() {
        spark = SparkTesting.session();
        model = HookedTransformer.fromPretrained(Path.of(SparkTesting.MODEL.model()));
        documents = SparkTesting.documents();
        chunks = TokenChunks.of(documents, model.tokenizer(), CHUNK);
        expected = new LinkedHashMap<>();
        widths = new LinkedHashMap<>();
        try (NDManager manager = NDManager.newBaseManager();
                ActivationCache cache = model.runWithCache(
                        manager.create(chunks.batch(0, chunks.chunks().size()), new Shape(chunks.chunks().size(), CHUNK)),
                        CacheOptions.matching(HOOKS))) {
            for (String hook : cache.keys()) {
                NDArray value = cache.get(hook);
                if (hook.endsWith("hook_pattern")) {
                    value = value.transpose(0, 2, 1, 3);
                }
                expected.put(hook, value.toFloatArray());
                widths.put(hook, (int) (value.size() / ((long) chunks.chunks().size() * CHUNK)));
            }
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void rowsEqualRunWithCacheWithOneTwoAndSevenPartitions() {
        List<Row> one = sorted(Harvest.harvest(spark, documents, options(1)).collectAsList());
        int loads = ExecutorModels.loads();
        List<Row> two = sorted(Harvest.harvest(spark, documents, options(2)).collectAsList());
        List<Row> seven = sorted(Harvest.harvest(spark, documents, options(7).batchChunks(3)).collectAsList());

        assertThat(ExecutorModels.loads()).as("the model is loaded once per JVM").isEqualTo(loads);
        assertThat(one).hasSize(chunks.chunks().size() * CHUNK);
        List<String> hooks = hooks(Harvest.harvest(spark, documents, options(1)));
        assertThat(hooks).containsExactlyInAnyOrderElementsOf(expected.keySet());
        double worst = 0;
        for (int i = 0; i < one.size(); i++) {
            Row row = one.get(i);
            int chunk = row.getInt(1);
            int position = row.getInt(3);
            assertThat(row.getInt(0)).isZero();
            assertThat(chunk * CHUNK + position).isEqualTo(i);
            assertThat(row.getLong(4)).isEqualTo(chunks.chunks().get(chunk)[position]);
            for (int h = 0; h < hooks.size(); h++) {
                List<Float> values = row.getList(HarvestSchema.firstHookColumn() + h);
                float[] want = expected.get(hooks.get(h));
                int width = widths.get(hooks.get(h));
                assertThat(values).hasSize(width);
                for (int d = 0; d < width; d++) {
                    float x = want[i * width + d];
                    double error = Math.abs(values.get(d) - x) / Math.max(1, Math.abs(x));
                    worst = Math.max(worst, error);
                }
            }
        }
        System.out.println("HarvestTest: largest difference to runWithCache " + worst);
        assertThat(worst).isLessThanOrEqualTo(1e-5);
        assertThat(two).isEqualTo(one);
        assertThat(seven).isEqualTo(one);
    }

    @Test
    void everyTokenNamesItsDocument() {
        List<Row> rows = sorted(Harvest.harvest(spark, documents, options(2)).collectAsList());
        long eos = model.tokenizer().eosId();
        Map<Long, List<Long>> tokensOf = new LinkedHashMap<>();
        for (Row row : rows) {
            if (row.getLong(4) != eos) {
                tokensOf.computeIfAbsent(row.getLong(2), d -> new ArrayList<>()).add(row.getLong(4));
            }
        }
        assertThat(tokensOf).hasSizeGreaterThan(documents.size() / 2);
        tokensOf.forEach((document, ids) -> assertThat(documents.get(document.intValue()))
                .contains(model.tokenizer().decode(ids.stream().mapToLong(Long::longValue).toArray()).strip()));
    }

    @Test
    void keepsOnlyTheChosenPositions() {
        List<Row> rows = Harvest.harvest(spark, documents, options(2).positions(3, 5)).collectAsList();
        assertThat(rows).hasSize(chunks.chunks().size() * 2).allSatisfy(row -> assertThat(row.getInt(3)).isBetween(3, 4));
    }

    @Test
    void parquetAndActivationStoreHoldTheHarvest(@TempDir Path dir) {
        Path parquet = dir.resolve("harvest.parquet");
        Harvest.writeParquet(Harvest.harvest(spark, documents, options(7)), parquet);
        Dataset<Row> written = spark.read().parquet(parquet.toString());
        List<Row> rows = sorted(written.collectAsList());
        assertThat(rows).hasSize(chunks.chunks().size() * CHUNK);

        ActivationStore.Manifest manifest = ActivationShards.write(written, RESID, dir.resolve("store"), 50);
        assertThat(manifest.totalTokens()).isEqualTo(rows.size());
        assertThat(manifest.shards()).hasSize((rows.size() + 49) / 50);
        try (NDManager manager = NDManager.newBaseManager();
                StoredActivations stored = new StoredActivations(dir.resolve("store"), rows.size(), manager)) {
            float[] read = stored.next(manager).toFloatArray();
            assertThat(read).containsExactly(expected.get(RESID), org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    private static HarvestOptions options(int partitions) {
        return HarvestOptions.of(SparkTesting.MODEL, HOOKS, CHUNK, partitions).batchChunks(4);
    }

    private static List<String> hooks(Dataset<Row> rows) {
        List<String> columns = List.of(rows.columns());
        return columns.subList(HarvestSchema.firstHookColumn(), columns.size());
    }

    private static List<Row> sorted(List<Row> rows) {
        List<Row> out = new ArrayList<>(rows);
        out.sort(Comparator.<Row>comparingInt(r -> r.getInt(0)).thenComparingInt(r -> r.getInt(1))
                .thenComparingInt(r -> r.getInt(3)));
        return out;
    }
}
