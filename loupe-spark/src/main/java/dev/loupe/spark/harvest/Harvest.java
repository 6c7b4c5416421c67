package dev.loupe.spark.harvest;

import static org.apache.spark.sql.functions.col;

import dev.loupe.LoupeException;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * Harvesting activations over a corpus. The documents are cut into groups of 2,048 on the driver; each group is
 * tokenized and chunked on an executor exactly as {@link TokenChunks#of} does; chunks are spread over
 * {@link HarvestOptions#partitions()} by (group, batch), so that each forward pass holds the same chunks whatever the
 * partitioning; each executor runs its batches with the model it loaded once ({@link ExecutorModels}).
 */
public final class Harvest {
    private Harvest() {}

    /**
     * The harvested rows of {@code documents}, one per kept token ({@link HarvestSchema#tokens}); lazy: nothing runs
     * until the dataset is written or collected, except one tiny forward pass on the driver that finds the hooks.
     */
    public static Dataset<Row> harvest(SparkSession spark, List<String> documents, HarvestOptions options) {
        List<String> hooks = HookProbe.names(ExecutorModels.get(options.model()), options.hooks());
        Dataset<Row> batches = chunks(spark, documents, options)
                .repartition(options.partitions(), col(HarvestSchema.GROUP), col(HarvestSchema.BATCH))
                .sortWithinPartitions(HarvestSchema.GROUP, HarvestSchema.BATCH, HarvestSchema.CHUNK);
        return batches.mapPartitions(new ChunkActivations(options, hooks), Encoders.row(HarvestSchema.tokens(hooks)));
    }

    /**
     * As {@link #harvest} for a corpus that is already token ids: each of {@code chunks} [chunkSize] is one chunk of
     * group 0 and its own document (a Parquet of token ids, say).
     */
    public static Dataset<Row> harvestTokens(SparkSession spark, List<long[]> chunks, HarvestOptions options) {
        List<String> hooks = HookProbe.names(ExecutorModels.get(options.model()), options.hooks());
        List<Row> rows = new ArrayList<>();
        for (int c = 0; c < chunks.size(); c++) {
            long[] ids = chunks.get(c);
            if (ids.length != options.chunkSize()) {
                throw new LoupeException("Chunk " + c + " has " + ids.length + " token ids but the harvest cuts "
                        + options.chunkSize() + "; give chunks of that length");
            }
            long[] documents = new long[ids.length];
            Arrays.fill(documents, c);
            rows.add(RowFactory.create(0, c, c / options.batchChunks(), ids, documents));
        }
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> chunkRows = spark.createDataFrame(context.parallelize(rows, options.partitions()), HarvestSchema.CHUNKS)
                .repartition(options.partitions(), col(HarvestSchema.GROUP), col(HarvestSchema.BATCH))
                .sortWithinPartitions(HarvestSchema.GROUP, HarvestSchema.BATCH, HarvestSchema.CHUNK);
        return chunkRows.mapPartitions(new ChunkActivations(options, hooks), Encoders.row(HarvestSchema.tokens(hooks)));
    }

    /**
     * The chunks of {@code documents} ({@link HarvestSchema#CHUNKS}: group, chunk, batch, token ids, documents), cut
     * on the executors with the model's tokenizer; no forward pass. Lazy.
     */
    public static Dataset<Row> chunks(SparkSession spark, List<String> documents, HarvestOptions options) {
        if (documents.isEmpty()) {
            throw new LoupeException("The corpus has no documents: give .txt, .jsonl or Parquet files with text");
        }
        int perGroup = TokenChunks.documentsPerGroup();
        List<Row> groups = new ArrayList<>();
        for (int start = 0; start < documents.size(); start += perGroup) {
            List<String> texts = documents.subList(start, Math.min(documents.size(), start + perGroup));
            groups.add(RowFactory.create(groups.size(), (long) start, texts.toArray(String[]::new)));
        }
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> groupRows = spark.createDataFrame(
                context.parallelize(groups, Math.min(groups.size(), options.partitions())), HarvestSchema.GROUPS);
        return groupRows.flatMap(new GroupChunker(options), Encoders.row(HarvestSchema.CHUNKS));
    }

    /**
     * Writes {@code rows} to the Parquet folder {@code out} through Spark's output commit protocol: only the output of
     * each task's one committed attempt is kept, so a retried or speculative task never duplicates or loses rows.
     */
    public static void writeParquet(Dataset<Row> rows, Path out) {
        if (out.toFile().exists()) {
            throw new LoupeException(out + " exists; give a new folder for the harvest (or delete it)");
        }
        rows.write().mode(SaveMode.ErrorIfExists).parquet(out.toString());
    }
}
