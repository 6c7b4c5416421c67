package dev.loupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Token id to token string, read from a Hugging Face {@code tokenizer.json}, for display only: this
 * is a lookup table, not a tokenizer. GPT-2-style byte-level tokens ({@code Ġfox}) are turned back
 * into their text ({@code " fox"}).
 */
final class Vocabulary {
    /** GPT-2's byte-level alphabet: the printable character that stands for each byte. */
    private static final Map<Character, Integer> BYTE_OF_CHAR = byteLevelAlphabet();

    private final String[] tokens;
    private final boolean byteLevel;

    private Vocabulary(String[] tokens, boolean byteLevel) {
        this.tokens = tokens;
        this.byteLevel = byteLevel;
    }

    /**
     * Reads {@code dir/tokenizer.json} ({@code model.vocab} and {@code added_tokens}).
     *
     * @return the vocabulary, or empty if the folder has no readable tokenizer.json
     */
    static Optional<Vocabulary> load(Path dir) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            JsonNode vocab = root.path("model").path("vocab");
            if (!vocab.isObject()) {
                return Optional.empty();
            }
            Map<Integer, String> byId = new HashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                byId.put(entry.getValue().asInt(), entry.getKey());
            }
            for (JsonNode added : root.path("added_tokens")) {
                if (added.has("id") && added.has("content")) {
                    byId.put(added.get("id").asInt(), added.get("content").asText());
                }
            }
            int size = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
            String[] tokens = new String[size];
            byId.forEach((id, token) -> {
                if (id >= 0) {
                    tokens[id] = token;
                }
            });
            boolean byteLevel = "ByteLevel".equals(root.path("pre_tokenizer").path("type").asText())
                    || "ByteLevel".equals(root.path("decoder").path("type").asText());
            return Optional.of(new Vocabulary(tokens, byteLevel));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The raw token string ({@code Ġfox}), or null for an unknown id. */
    String token(long id) {
        return id >= 0 && id < tokens.length ? tokens[(int) id] : null;
    }

    /** The token as readable text: spaces as {@code ␣}, line breaks and control characters escaped. */
    String display(long id) {
        String token = token(id);
        return token == null ? "?" : visible(text(List.of(token)), true);
    }

    /** The text of a sequence of ids, spaces kept (unknown ids shown as {@code ?}). */
    String decode(long[] ids) {
        List<String> pieces = new java.util.ArrayList<>();
        for (long id : ids) {
            String token = token(id);
            pieces.add(token == null ? "?" : token);
        }
        return text(pieces);
    }

    /** Joins tokens and, for byte-level vocabularies, turns the byte characters back into UTF-8 text. */
    private String text(List<String> pieces) {
        String joined = String.join("", pieces);
        if (!byteLevel) {
            return joined.replace('\u2581', ' '); // SentencePiece's word marker
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < joined.length(); i++) {
            char c = joined.charAt(i);
            Integer b = BYTE_OF_CHAR.get(c);
            if (b != null) {
                bytes.write(b);
            } else {
                byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(utf8, 0, utf8.length);
            }
        }
        byte[] raw = bytes.toByteArray();
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            // Part of a multi-byte character (a token may hold half an emoji): show the bytes.
            StringBuilder text = new StringBuilder();
            for (byte b : raw) {
                int u = b & 0xff;
                text.append(u >= 0x20 && u < 0x7f ? String.valueOf((char) u) : String.format("\\x%02x", u));
            }
            return text.toString();
        }
    }

    /** Escapes line breaks and control characters, and shows spaces as {@code ␣} if asked. */
    static String visible(String text, boolean markSpaces) {
        StringBuilder shown = new StringBuilder();
        text.codePoints().forEach(c -> {
            switch (c) {
                case ' ' -> shown.append(markSpaces ? '␣' : ' ');
                case '\n' -> shown.append("\\n");
                case '\r' -> shown.append("\\r");
                case '\t' -> shown.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) {
                        shown.append(String.format("\\x%02x", c));
                    } else {
                        shown.appendCodePoint(c);
                    }
                }
            }
        });
        return shown.toString();
    }

    /** GPT-2's {@code bytes_to_unicode}, inverted. */
    private static Map<Character, Integer> byteLevelAlphabet() {
        Map<Character, Integer> map = new HashMap<>();
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map.put(printable ? (char) b : (char) (256 + next++), b);
        }
        return map;
    }
}
