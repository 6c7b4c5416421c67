package dev.loupe.load;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/** Typed reads of a Hugging Face {@code config.json}, with errors that name the missing key. */
final class HfConfig {
    private final JsonNode json;

    HfConfig(JsonNode json) {
        this.json = json;
    }

    int requireInt(String key) {
        JsonNode node = json.get(key);
        if (node == null || !node.canConvertToInt()) {
            throw new CheckpointException("config.json has no integer '" + key + "'" + (node == null ? "" : " (it is " + node + ")"));
        }
        return node.asInt();
    }

    Optional<Integer> optionalInt(String key) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? Optional.empty() : Optional.of(requireInt(key));
    }

    String string(String key, String fallback) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? fallback : node.asText();
    }

    double dbl(String key, double fallback) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? fallback : node.asDouble();
    }

    boolean bool(String key, boolean fallback) {
        JsonNode node = json.get(key);
        return node == null || node.isNull() ? fallback : node.asBoolean();
    }
}
