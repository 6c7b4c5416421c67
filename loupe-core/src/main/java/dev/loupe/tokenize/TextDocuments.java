package dev.loupe.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.LoupeException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The documents of a training or evaluation corpus: each line of a {@code .jsonl} file is a JSON
 * object whose text column (default {@code text}, as the tuned-lens library's {@code --text_column})
 * is one document; a {@code .txt} file is one document.
 */
public final class TextDocuments {
    /** The tuned-lens library's default text column. */
    public static final String TEXT_COLUMN = "text";

    private TextDocuments() {}

    /** Every document of {@code files}, in order. */
    public static List<String> read(List<Path> files, String textColumn) {
        if (files.isEmpty()) {
            throw new LoupeException("No data files given: pass one or more .jsonl or .txt files");
        }
        List<String> documents = new ArrayList<>();
        for (Path file : files) {
            String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (!Files.isRegularFile(file)) {
                throw new LoupeException("Data file " + file + " does not exist");
            }
            if (name.endsWith(".jsonl")) {
                documents.addAll(readJsonl(file, textColumn));
            } else if (name.endsWith(".txt")) {
                documents.add(readText(file));
            } else {
                throw new LoupeException("Data file " + file + " is neither .jsonl (one JSON object per line, text in"
                        + " the '" + textColumn + "' field) nor .txt (one document); rename or convert it");
            }
        }
        return documents;
    }

    private static String readText(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static List<String> readJsonl(Path file, String textColumn) {
        ObjectMapper json = new ObjectMapper();
        List<String> documents = new ArrayList<>();
        try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = lines.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode row;
                try {
                    row = json.readTree(line);
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new LoupeException(file + " line " + number + " is not JSON (" + e.getOriginalMessage()
                            + "); a .jsonl file holds one JSON object per line");
                }
                JsonNode text = row.get(textColumn);
                if (text == null || !text.isTextual()) {
                    throw new LoupeException(file + " line " + number + " has no text field '" + textColumn
                            + "'; name the field that holds the text with --text-column");
                }
                documents.add(text.asText());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
        }
        return documents;
    }
}
