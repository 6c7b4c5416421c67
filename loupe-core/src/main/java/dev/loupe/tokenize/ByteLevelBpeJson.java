package dev.loupe.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.CheckpointException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Builds the {@code tokenizer.json} of a GPT-2-style byte-level BPE from {@code vocab.json} and
 * {@code merges.txt}, as {@code GPT2TokenizerFast} would save it: ByteLevel pre-tokenizer, decoder and
 * post-processor, the BPE model, and {@code <|endoftext|>} as a special token. (DJL's own
 * vocab-plus-merges constructor leaves out the byte-level pre-tokenizer and gives wrong ids.)
 */
final class ByteLevelBpeJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ByteLevelBpeJson() {}

    static String build(Path vocabFile, Path mergesFile, JsonNode tokenizerConfig) throws IOException {
        JsonNode vocab = JSON.readTree(vocabFile.toFile());
        if (vocab == null || !vocab.isObject()) {
            throw new CheckpointException(vocabFile + " is not a JSON object of token → id");
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String special = tokenizerConfig != null && tokenizerConfig.hasNonNull("eos_token")
                && tokenizerConfig.get("eos_token").isTextual() ? tokenizerConfig.get("eos_token").asText() : "<|endoftext|>";
        if (vocab.has(special)) {
            ObjectNode token = added.addObject();
            token.put("id", vocab.get(special).asLong());
            token.put("content", special);
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false));
        root.set("post_processor", byteLevel(true));
        root.set("decoder", byteLevel(true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        model.set("vocab", vocab);
        ArrayNode merges = model.putArray("merges");
        List<String> lines = Files.readAllLines(mergesFile, StandardCharsets.UTF_8);
        for (String line : lines) {
            if (line.startsWith("#version") || line.isBlank()) {
                continue;
            }
            int space = line.indexOf(' ');
            if (space <= 0 || space != line.lastIndexOf(' ')) {
                throw new CheckpointException(mergesFile + ": a merge must be two tokens separated by one space, got '"
                        + line + "'");
            }
            merges.add(line);
        }
        return JSON.writeValueAsString(root);
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace) {
        ObjectNode node = JSON.createObjectNode();
        node.put("type", "ByteLevel");
        node.put("add_prefix_space", addPrefixSpace);
        node.put("trim_offsets", true);
        node.put("use_regex", true);
        return node;
    }
}
