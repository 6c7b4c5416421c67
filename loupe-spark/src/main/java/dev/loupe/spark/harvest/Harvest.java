package dev.loupe.spark.harvest;

import static org.apache.spark.sql.functions.col;

import dev.loupe.LoupeException;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * Harvesting activations over a corpus. The documents are numbered in corpus order ({@code zipWithIndex}) and
 * gathered into groups of 2,048 by a shuffle, on the executors; each group is tokenized and chunked on an executor
 * exactly as {@link TokenChunks#of} does; chunks are spread over
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
        return harvest(spark, parallelize(spark, documents, options), options);
    }

    /**
     * As {@link #harvest(SparkSession, List, HarvestOptions)} for documents that stay on the executors (in corpus
     * order across the RDD's partitions, as {@link Corpus#read} returns them).
     */
    public static Dataset<Row> harvest(SparkSession spark, JavaRDD<String> documents, HarvestOptions options) {
        List<String> hooks = HookProbe.names(ExecutorModels.get(options.model()), options.hooks());
        Dataset<Row> batches = chunks(spark, documents, options)
                .repartition(options.partitions(), col(HarvestSchema.GROUP), col(HarvestSchema.BATCH))
                .sortWithinPartitions(HarvestSchema.GROUP, HarvestSchema.BATCH, HarvestSchema.CHUNK);
        return batches.mapPartitions(new ChunkActivations(options, hooks), Encoders.row(HarvestSchema.tokens(hooks)));
    }

    /**
     * As {@link #harvest} for a corpus that is already token ids: each of {@code chunks} [chunkSize] is one chunk of
     * group 0 and its own document.
     */
    public static Dataset<Row> harvestTokens(SparkSession spark, List<long[]> chunks, HarvestOptions options) {
        List<Row> rows = new ArrayList<>();
        for (long[] ids : chunks) {
            rows.add(RowFactory.create((Object) ids));
        }
        StructType schema = new StructType().add("ids", DataTypes.createArrayType(DataTypes.LongType, false), false);
        return harvestTokens(spark, spark.createDataFrame(rows, schema), "ids", options);
    }

    /**
     * As {@link #harvest} for a table of token ids (a Parquet read, say): each row's {@code column} (an array of
     * integers of {@link HarvestOptions#chunkSize()}) is one chunk of group 0 and its own document, numbered in file
     * and row order for a Parquet read, else in the table's order. Rows of another length are refused by name.
     */
    public static Dataset<Row> harvestTokens(SparkSession spark, Dataset<Row> table, String column,
            HarvestOptions options) {
        if (!List.of(table.columns()).contains(column)) {
            throw new LoupeException("The token table has no column '" + column + "' (it has " + List.of(table.columns())
                    + "); name the column of token ids with --token-column");
        }
        if (!(table.schema().apply(column).dataType() instanceof ArrayType array)
                || !List.of(DataTypes.LongType, DataTypes.IntegerType, DataTypes.ShortType).contains(array.elementType())) {
            throw new LoupeException("Column '" + column + "' is " + table.schema().apply(column).dataType().simpleString()
                    + ", not an array of integer token ids");
        }
        List<String> hooks = HookProbe.names(ExecutorModels.get(options.model()), options.hooks());
        Dataset<Row> ids = inFileOrderIfParquet(table).select(col(column).cast("array<bigint>"));
        int size = options.chunkSize();
        Row wrong = ids.where(functions.size(col(column)).notEqual(size).or(col(column).isNull())).limit(1)
                .collectAsList().stream().findFirst().orElse(null);
        if (wrong != null) {
            throw new LoupeException("A row of '" + column + "' has " + (wrong.isNullAt(0) ? "no" : wrong.getList(0).size())
                    + " token ids but the harvest cuts chunks of " + size + "; give rows of --seq-len ids");
        }
        int batch = options.batchChunks();
        JavaRDD<Row> chunkRows = ids.javaRDD().zipWithIndex().map(indexed -> {
            List<Long> values = indexed._1().getList(0);
            long[] tokens = new long[values.size()];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = values.get(i);
            }
            long[] documents = new long[tokens.length];
            Arrays.fill(documents, indexed._2());
            int chunk = Math.toIntExact(indexed._2());
            return RowFactory.create(0, chunk, chunk / batch, tokens, documents);
        });
        return spark.createDataFrame(chunkRows, HarvestSchema.CHUNKS)
                .repartition(options.partitions(), col(HarvestSchema.GROUP), col(HarvestSchema.BATCH))
                .sortWithinPartitions(HarvestSchema.GROUP, HarvestSchema.BATCH, HarvestSchema.CHUNK)
                .mapPartitions(new ChunkActivations(options, hooks), Encoders.row(HarvestSchema.tokens(hooks)));
    }

    /**
     * The chunks of {@code documents} ({@link HarvestSchema#CHUNKS}: group, chunk, batch, token ids, documents), cut
     * on the executors with the model's tokenizer; no forward pass. Lazy.
     */
    public static Dataset<Row> chunks(SparkSession spark, List<String> documents, HarvestOptions options) {
        return chunks(spark, parallelize(spark, documents, options), options);
    }

    /**
     * As {@link #chunks(SparkSession, List, HarvestOptions)} for documents on the executors: numbered with
     * {@code zipWithIndex} and gathered into their groups of {@link TokenChunks#documentsPerGroup()} by a shuffle, so
     * no group depends on how the documents were partitioned.
     */
    public static Dataset<Row> chunks(SparkSession spark, JavaRDD<String> documents, HarvestOptions options) {
        if (documents.isEmpty()) {
            throw new LoupeException("The corpus has no documents: give .txt, .jsonl or Parquet files with text");
        }
        long perGroup = TokenChunks.documentsPerGroup();
        JavaRDD<Row> groups = documents.zipWithIndex()
                .mapToPair(indexed -> new Tuple2<>(indexed._2() / perGroup, indexed.swap()))
                .groupByKey(options.partitions())
                .map(group -> {
                    List<Tuple2<Long, String>> members = new ArrayList<>();
                    group._2().forEach(members::add);
                    members.sort(Comparator.comparingLong(Tuple2::_1));
                    return RowFactory.create(Math.toIntExact(group._1()), members.get(0)._1(),
                            members.stream().map(Tuple2::_2).toArray(String[]::new));
                });
        return spark.createDataFrame(groups, HarvestSchema.GROUPS)
                .flatMap(new GroupChunker(options), Encoders.row(HarvestSchema.CHUNKS));
    }

    private static JavaRDD<String> parallelize(SparkSession spark, List<String> documents, HarvestOptions options) {
        return JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(documents, options.partitions());
    }

    // A Parquet read has the hidden _metadata.file_path and row_index; any other table keeps its order.
    private static Dataset<Row> inFileOrderIfParquet(Dataset<Row> table) {
        try {
            return Corpus.inFileOrder(table);
        } catch (Exception e) { // Scala's AnalysisException, which javac sees as checked and never thrown
            if (e instanceof org.apache.spark.sql.AnalysisException) {
                return table;
            }
            throw e;
        }
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
