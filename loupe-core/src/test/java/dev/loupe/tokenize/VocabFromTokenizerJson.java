package dev.loupe.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;

/**
 * Writes a tokenizer.json's BPE model back out as the older vocab.json + merges.txt pair, so tests
 * can exercise that path without shipping the same vocabulary twice.
 */
final class VocabFromTokenizerJson {
    private VocabFromTokenizerJson() {}

    static String vocab(Path modelDir) throws java.io.IOException {
        return new ObjectMapper().writeValueAsString(model(modelDir).get("vocab"));
    }

    static String merges(Path modelDir) {
        StringBuilder text = new StringBuilder("#version: 0.2\n");
        for (JsonNode merge : model(modelDir).get("merges")) {
            text.append(merge.isArray() ? merge.get(0).asText() + " " + merge.get(1).asText() : merge.asText()).append('\n');
        }
        return text.toString();
    }

    private static JsonNode model(Path modelDir) {
        return Fixtures.json(modelDir.resolve("tokenizer.json")).get("model");
    }
}
