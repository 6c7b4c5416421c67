package dev.loupe.spark.harvest;

import dev.loupe.LoupeException;
import dev.loupe.tokenize.TextDocuments;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The documents of a corpus, in order, read on the driver: {@code .txt} (one document) and {@code .jsonl} files
 * as {@link TextDocuments} reads them, and Parquet files or folders whose {@code textColumn} holds one document a row.
 */
public final class Corpus {
    private Corpus() {}

    /** Every document of {@code files}, in order. */
    public static List<String> documents(SparkSession spark, List<Path> files, String textColumn) {
        List<String> documents = new ArrayList<>();
        List<Path> texts = new ArrayList<>();
        for (Path file : files) {
            if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".parquet")) {
                documents.addAll(TextDocuments.read(texts, textColumn));
                texts.clear();
                documents.addAll(parquetTexts(spark, file, textColumn));
            } else {
                texts.add(file);
            }
        }
        if (!texts.isEmpty()) {
            documents.addAll(TextDocuments.read(texts, textColumn));
        }
        return documents;
    }

    private static List<String> parquetTexts(SparkSession spark, Path file, String textColumn) {
        var table = spark.read().parquet(file.toString());
        if (!List.of(table.columns()).contains(textColumn)) {
            throw new LoupeException(file + " has no column '" + textColumn + "' (it has " + List.of(table.columns())
                    + "); name the column that holds the text with --text-column");
        }
        List<String> texts = new ArrayList<>();
        for (Row row : table.select(textColumn).collectAsList()) {
            if (!row.isNullAt(0)) {
                texts.add(row.getString(0));
            }
        }
        return texts;
    }
}
