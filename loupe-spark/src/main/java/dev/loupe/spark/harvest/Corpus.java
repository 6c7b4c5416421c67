package dev.loupe.spark.harvest;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.LoupeException;
import dev.loupe.tokenize.TextDocuments;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The documents of a corpus, in order: {@code .txt} (one document) and {@code .jsonl} files (one a line, blank
 * lines skipped) as {@link TextDocuments} reads them, and Parquet files or folders whose {@code textColumn} holds
 * one document a row (null rows skipped; a folder's files in name order, each file's rows in order).
 */
public final class Corpus {
    private static final String FILE = "_metadata.file_path";
    private static final String ROW = "_metadata.row_index";

    private Corpus() {}

    /**
     * Every document of {@code files}, in order, read on the executors: a {@code .jsonl} file is cut into at least
     * {@code partitions} splits; nothing of the corpus passes through the driver. The RDD's partitions, in order,
     * hold the documents in corpus order.
     */
    public static JavaRDD<String> read(SparkSession spark, List<Path> files, String textColumn, int partitions) {
        if (files.isEmpty()) {
            throw new LoupeException("No data files given: pass one or more .jsonl, .txt or .parquet files");
        }
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<JavaRDD<String>> parts = new ArrayList<>();
        for (Path file : files) {
            String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".parquet")) {
                parts.add(parquetTexts(spark, file, textColumn).javaRDD().map(row -> row.getString(0)));
                continue;
            }
            if (!Files.isRegularFile(file)) {
                throw new LoupeException("Data file " + file + " does not exist");
            }
            String uri = file.toAbsolutePath().toUri().toString();
            if (name.endsWith(".jsonl")) {
                String where = file.toString();
                parts.add(context.textFile(uri, partitions).flatMap(line -> jsonlText(line, textColumn, where)));
            } else if (name.endsWith(".txt")) {
                parts.add(context.wholeTextFiles(uri, 1).values());
            } else {
                throw new LoupeException("Data file " + file + " is neither .jsonl (one JSON object per line, text in"
                        + " the '" + textColumn + "' field), .txt (one document) nor .parquet (a '" + textColumn
                        + "' column); rename or convert it");
            }
        }
        JavaRDD<String> all = parts.get(0);
        for (int i = 1; i < parts.size(); i++) {
            all = all.union(parts.get(i));
        }
        return all;
    }

    /**
     * Every document of {@code files}, in order, collected on the driver (the lens commands, which keep their token
     * ids there); {@link #read} for a harvest.
     */
    public static List<String> documents(SparkSession spark, List<Path> files, String textColumn) {
        return read(spark, files, textColumn, 1).collect();
    }

    // The document of one .jsonl line, as TextDocuments reads it (a blank line: none).
    private static java.util.Iterator<String> jsonlText(String line, String textColumn, String file) {
        if (line.isBlank()) {
            return Collections.emptyIterator();
        }
        JsonNode row;
        try {
            row = Json.MAPPER.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new LoupeException(file + " has a line that is not JSON (" + e.getOriginalMessage() + "): "
                    + abbreviate(line) + "; a .jsonl file holds one JSON object per line");
        }
        JsonNode text = row.get(textColumn);
        if (text == null || !text.isTextual()) {
            throw new LoupeException(file + " has a line without a text field '" + textColumn + "': " + abbreviate(line)
                    + "; name the field that holds the text with --text-column");
        }
        return List.of(text.asText()).iterator();
    }

    private static String abbreviate(String line) {
        return line.length() <= 80 ? line : line.substring(0, 80) + "…";
    }

    /**
     * The non-null {@code textColumn} of a Parquet file or folder, one column, in file-name and row order whatever
     * splits Spark reads it in (it orders splits by size, not by position).
     */
    private static Dataset<Row> parquetTexts(SparkSession spark, Path file, String textColumn) {
        Dataset<Row> table = spark.read().parquet(file.toString());
        if (!List.of(table.columns()).contains(textColumn)) {
            throw new LoupeException(file + " has no column '" + textColumn + "' (it has " + List.of(table.columns())
                    + "); name the column that holds the text with --text-column");
        }
        return inFileOrder(table).select(col(textColumn)).where(col(textColumn).isNotNull());
    }

    /** {@code table} (a Parquet read) sorted by file name, then by row within its file. */
    static Dataset<Row> inFileOrder(Dataset<Row> table) {
        return table.orderBy(col(FILE), col(ROW));
    }

    /** One JSON reader per executor JVM. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }
}
