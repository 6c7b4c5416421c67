package dev.loupe.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face fast tokenizer (the Rust {@code tokenizers} library through DJL) read from a model
 * folder, with the special tokens TransformerLens relies on. It never truncates and never pads: the
 * text API ({@link TextEncoder}) does both, explicitly.
 *
 * <p>Special tokens follow TransformerLens's {@code set_tokenizer}: EOS defaults to
 * {@code <|endoftext|>}, a missing pad token is the EOS token, a missing BOS token is the EOS token.
 */
public final class Tokenizer implements AutoCloseable {
    /** The files a model folder may hold its tokenizer in, in the order they are tried. */
    public static final List<String> FILES = List.of("tokenizer.json", "vocab.json + merges.txt");

    private static final Map<String, String> NO_TRUNCATION_NO_PADDING =
            Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true");

    private final HuggingFaceTokenizer hf;
    private final String bosToken;
    private final String eosToken;
    private final String padToken;
    private final long bosId;
    private final long eosId;
    private final long padId;
    private final boolean prependsBos;

    private Tokenizer(HuggingFaceTokenizer hf, JsonNode tokenizerConfig) {
        this.hf = hf;
        eosToken = specialToken(tokenizerConfig, "eos_token", "<|endoftext|>");
        bosToken = specialToken(tokenizerConfig, "bos_token", eosToken);
        padToken = specialToken(tokenizerConfig, "pad_token", eosToken);
        eosId = singleId(eosToken, "eos_token");
        bosId = singleId(bosToken, "bos_token");
        padId = singleId(padToken, "pad_token");
        prependsBos = encode("").length > 0;
    }

    /**
     * The tokenizer of a Hugging Face model folder: {@code tokenizer.json}, or else the older
     * GPT-2-style pair {@code vocab.json} + {@code merges.txt}; {@code tokenizer_config.json}, if
     * present, names the special tokens.
     *
     * @throws CheckpointException if the folder has neither, naming the files looked for
     */
    public static Tokenizer fromModelDir(Path dir) {
        JsonNode config = readJson(dir.resolve("tokenizer_config.json"));
        Path json = dir.resolve("tokenizer.json");
        try {
            if (Files.isRegularFile(json)) {
                try (InputStream in = Files.newInputStream(json)) {
                    return new Tokenizer(HuggingFaceTokenizer.newInstance(in, NO_TRUNCATION_NO_PADDING), config);
                }
            }
            Path vocab = dir.resolve("vocab.json");
            Path merges = dir.resolve("merges.txt");
            if (Files.isRegularFile(vocab) && Files.isRegularFile(merges)) {
                byte[] built = ByteLevelBpeJson.build(vocab, merges, config).getBytes(StandardCharsets.UTF_8);
                return new Tokenizer(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(built),
                        NO_TRUNCATION_NO_PADDING), config);
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof LoupeException loupe) {
                throw loupe;
            }
            throw new CheckpointException("Cannot read the tokenizer in " + dir + ": " + e.getMessage(), e);
        }
        throw new CheckpointException("No tokenizer in " + dir + ": looked for tokenizer.json, and for vocab.json"
                + " with merges.txt. Copy the tokenizer files of the model's Hugging Face repository into the folder.");
    }

    /** Whether a model folder holds a tokenizer {@link #fromModelDir} can read. */
    public static boolean existsIn(Path dir) {
        return Files.isRegularFile(dir.resolve("tokenizer.json"))
                || (Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt")));
    }

    /** Token ids of {@code text}, with the special tokens the tokenizer adds by default (as Hugging Face does). */
    public long[] encode(String text) {
        return encode(text, true);
    }

    /** Token ids of {@code text}; {@code addSpecialTokens} false gives the bare ids. */
    public long[] encode(String text, boolean addSpecialTokens) {
        return hf.encode(text, addSpecialTokens, false).getIds();
    }

    /** The byte-level token strings of {@code text}, without special tokens ({@code Ġ} is a space). */
    public List<String> tokens(String text) {
        return Arrays.asList(hf.encode(text, false, false).getTokens());
    }

    /**
     * The tokens of {@code text} (no special tokens) with where each came from, as {@code [start, end)}
     * indices into the Java string (DJL reports Unicode code points; these are converted).
     */
    public List<TokenSpan> spans(String text) {
        Encoding encoding = hf.encode(text, false, false);
        long[] ids = encoding.getIds();
        CharSpan[] spans = encoding.getCharTokenSpans();
        int codePoints = text.codePointCount(0, text.length());
        List<TokenSpan> result = new ArrayList<>(ids.length);
        for (int i = 0; i < ids.length; i++) {
            CharSpan span = spans[i];
            int start = span == null ? 0 : Math.min(span.getStart(), codePoints);
            int end = span == null ? 0 : Math.min(span.getEnd(), codePoints);
            result.add(new TokenSpan(ids[i], text.offsetByCodePoints(0, start), text.offsetByCodePoints(0, end)));
        }
        return result;
    }

    /** The text of {@code ids}, special tokens included, without Python's whitespace clean-up. */
    public String decode(long[] ids) {
        return hf.decode(ids, false);
    }

    /** The text of one token (a lone piece of a multi-byte character decodes to U+FFFD). */
    public String decodeToken(long id) {
        return hf.decode(new long[] {id}, false);
    }

    /** Whether the tokenizer itself puts a BOS token in front of every text (Llama's does, GPT-2's does not). */
    public boolean prependsBos() {
        return prependsBos;
    }

    public String bosToken() {
        return bosToken;
    }

    public long bosId() {
        return bosId;
    }

    public String eosToken() {
        return eosToken;
    }

    public long eosId() {
        return eosId;
    }

    public String padToken() {
        return padToken;
    }

    public long padId() {
        return padId;
    }

    @Override
    public void close() {
        hf.close();
    }

    private long singleId(String token, String role) {
        long[] ids = encode(token, false);
        if (ids.length != 1) {
            throw new CheckpointException("The tokenizer's " + role + " '" + token + "' is not one token (it encodes to "
                    + Arrays.toString(ids) + "); fix tokenizer_config.json");
        }
        return ids[0];
    }

    /** tokenizer_config.json spells a special token as a string or as {"content": ...}; null means unset. */
    private static String specialToken(JsonNode config, String key, String fallback) {
        JsonNode node = config == null ? null : config.get(key);
        if (node == null || node.isNull()) {
            return fallback;
        }
        return node.isObject() ? node.path("content").asText(fallback) : node.asText(fallback);
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }
}
