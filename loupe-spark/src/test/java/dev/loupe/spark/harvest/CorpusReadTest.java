package dev.loupe.spark.harvest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.SparkTesting;
import dev.loupe.spark.cli.SparkMain;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TextDocuments;
import dev.loupe.tokenize.TokenChunks;
import dev.loupe.tokenize.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The corpus read on the executors ({@link Corpus#read}): a .jsonl of several groups' worth of documents, cut into
 * more splits than one, chunks exactly as {@link TokenChunks#of} on the driver, with 1, 2 and 7 partitions; Parquet
 * text is read in file and row order; a Parquet of token ids harvests from the command line as the Java API does.
 */
class CorpusReadTest {
    private static final int CHUNK = 16;
    /** Documents enough for three groups of 2,048. */
    private static final int DOCUMENTS = 2 * TokenChunks.documentsPerGroup() + 400;

    @TempDir
    static Path dir;
    private static SparkSession spark;
    private static Tokenizer tokenizer;
    private static List<String> documents;
    private static Path jsonl;

    @BeforeAll
    static void writeCorpus() throws IOException {
        spark = SparkTesting.session();
        tokenizer = ExecutorModels.get(SparkTesting.MODEL).tokenizer();
        List<String> paragraphs = SparkTesting.documents();
        documents = new ArrayList<>();
        StringBuilder lines = new StringBuilder();
        ObjectMapper json = new ObjectMapper();
        for (int d = 0; d < DOCUMENTS; d++) {
            String paragraph = paragraphs.get(d % paragraphs.size());
            documents.add("Document " + d + ": " + paragraph.substring(0, Math.min(paragraph.length(), 40 + d % 50)));
            lines.append(json.writeValueAsString(Map.of("text", documents.get(d)))).append('\n');
            if (d % 1000 == 0) {
                lines.append('\n'); // blank lines are skipped, as TextDocuments skips them
            }
        }
        jsonl = Files.writeString(dir.resolve("corpus.jsonl"), lines.toString(), StandardCharsets.UTF_8);
    }

    @Test
    void chunksOfAFileCutIntoSplitsEqualTokenChunksWithOneTwoAndSevenPartitions() {
        List<Path> files = List.of(jsonl, Fixtures.ROOT.resolve("text/loupe.txt"));
        TokenChunks expected = TokenChunks.of(TextDocuments.read(files, "text"), tokenizer, CHUNK);
        for (int partitions : new int[] {1, 2, 7}) {
            JavaRDD<String> read = Corpus.read(spark, files, "text", partitions);
            assertThat(read.getNumPartitions()).as("the .jsonl is cut into at least %d splits", partitions)
                    .isGreaterThan(partitions);
            HarvestOptions options = HarvestOptions.of(SparkTesting.MODEL, "hook_embed", CHUNK, partitions);
            List<Row> chunks = new ArrayList<>(Harvest.chunks(spark, read, options).collectAsList());
            chunks.sort(Comparator.<Row>comparingInt(r -> r.getInt(0)).thenComparingInt(r -> r.getInt(1)));
            assertThat(chunks).hasSize(expected.chunks().size());
            assertThat(chunks.stream().map(r -> r.getInt(0)).distinct().count()).as("groups").isEqualTo(3);
            for (int c = 0; c < chunks.size(); c++) {
                List<Long> ids = chunks.get(c).getList(3);
                assertThat(ids.stream().mapToLong(Long::longValue).toArray()).as("chunk %d with %d partitions", c,
                        partitions).isEqualTo(expected.chunks().get(c));
            }
            List<Long> lastDocuments = chunks.get(chunks.size() - 1).getList(4);
            assertThat(lastDocuments.get(CHUNK - 1)).as("the .txt file is the last document").isEqualTo(DOCUMENTS);
        }
    }

    @Test
    void parquetTextIsReadInFileAndRowOrder() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("texts.parquet"));
        int[] cuts = {0, 300, 2300, 2800};
        for (int f = 0; f < 3; f++) {
            Path part = dir.resolve("part" + f);
            spark.createDataset(documents.subList(cuts[f], cuts[f + 1]), Encoders.STRING()).toDF("text").coalesce(1)
                    .write().parquet(part.toString());
            try (Stream<Path> written = Files.list(part)) {
                Path file = written.filter(p -> p.toString().endsWith(".parquet")).findFirst().orElseThrow();
                Files.move(file, folder.resolve("part-" + f + ".parquet"));
            }
        }
        List<String> read = Corpus.read(spark, List.of(folder), "text", 3).collect();
        assertThat(read).isEqualTo(documents.subList(0, cuts[3]));
    }

    @Test
    void aParquetOfTokenIdsHarvestsFromTheCommandLineAsTheJavaApi() {
        List<long[]> chunks = TokenChunks.of(documents.subList(0, 40), tokenizer, CHUNK).chunks();
        List<Row> rows = new ArrayList<>();
        for (long[] ids : chunks) {
            rows.add(RowFactory.create((Object) java.util.Arrays.stream(ids).mapToInt(Math::toIntExact).toArray()));
        }
        StructType schema = new StructType().add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType));
        Path tokens = dir.resolve("tokens.parquet");
        spark.createDataFrame(rows, schema).coalesce(1).write().parquet(tokens.toString());
        Path out = dir.resolve("from-tokens.parquet");
        int status = SparkMain.run("spark", "harvest", "--master", "local[2]", "--partitions", "3", "--model",
                SparkTesting.MODEL.model(), "--data", tokens.toString(), "--token-column", "input_ids", "--hooks",
                "blocks\\.0\\.hook_resid_post", "--seq-len", String.valueOf(CHUNK), "--out", out.toString());
        assertThat(status).isZero();
        HarvestOptions options = HarvestOptions.of(SparkTesting.MODEL, "blocks\\.0\\.hook_resid_post", CHUNK, 2);
        List<Row> expected = sorted(Harvest.harvestTokens(spark, chunks, options).collectAsList());
        List<Row> written = sorted(spark.read().parquet(out.toString()).collectAsList());
        assertThat(written).hasSize(chunks.size() * CHUNK).isEqualTo(expected);
        for (Row row : written) {
            assertThat(row.getLong(4)).isEqualTo(chunks.get(row.getInt(1))[row.getInt(3)]);
        }
        int refused = SparkMain.run("spark", "harvest", "--master", "local[2]", "--model", SparkTesting.MODEL.model(),
                "--data", tokens.toString(), "--token-column", "input_ids", "--hooks", "hook_embed", "--seq-len", "8",
                "--out", dir.resolve("refused").toString());
        assertThat(refused).as("rows of 16 ids with --seq-len 8").isEqualTo(1);
    }

    @Test
    void aJsonlLineThatIsNotJsonIsRefusedByNameThoughAnExecutorReadsIt() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.jsonl"), "{\"text\": \"fine\"}\nnot json at all\n");
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = SparkMain.run("spark", "harvest", "--master", "local[2]", "--model", SparkTesting.MODEL.model(),
                    "--data", bad.toString(), "--hooks", "hook_embed", "--seq-len", "4", "--out",
                    dir.resolve("bad-out").toString());
        } finally {
            System.setErr(err);
        }
        assertThat(status).isEqualTo(1);
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("bad.jsonl has a line that is not JSON")
                .contains("not json at all");
    }

    private static List<Row> sorted(List<Row> rows) {
        List<Row> out = new ArrayList<>(rows);
        out.sort(Comparator.<Row>comparingInt(r -> r.getInt(1)).thenComparingInt(r -> r.getInt(3)));
        return out;
    }
}
