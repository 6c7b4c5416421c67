package dev.loupe.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/** What the Spark tests share: one local[2] session per JVM, the fixture model and a small corpus. */
public final class SparkTesting {
    /** GPT-2 architecture with the real vocabulary (testdata/models/gpt2-tok), weights processed. */
    public static final ModelSpec MODEL = new ModelSpec(Fixtures.model("gpt2-tok").toString(), true);

    private SparkTesting() {}

    /** The tests' session: local[2], created on first use, shared by every test class of the JVM. */
    public static synchronized SparkSession session() {
        return SparkSession.builder().master("local[2]").appName("loupe-spark-tests")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", "4")
                .getOrCreate();
    }

    /** {@link #documents()} as a .jsonl file in {@code dir}, for the command line. */
    public static Path corpusFile(Path dir) {
        try {
            ObjectMapper json = new ObjectMapper();
            StringBuilder lines = new StringBuilder();
            for (String document : documents()) {
                lines.append(json.writeValueAsString(Map.of("text", document))).append('\n');
            }
            return Files.writeString(dir.resolve("corpus.jsonl"), lines.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The paragraphs of testdata/text/loupe.txt, each a document, twice (so that documents repeat). */
    public static List<String> documents() {
        try {
            String text = Files.readString(Fixtures.ROOT.resolve("text/loupe.txt"), StandardCharsets.UTF_8);
            List<String> documents = new ArrayList<>();
            for (int copy = 0; copy < 2; copy++) {
                for (String paragraph : text.split("\n\n")) {
                    documents.add(paragraph.strip());
                }
            }
            return documents;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}
