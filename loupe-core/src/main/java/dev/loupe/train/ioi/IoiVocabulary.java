package dev.loupe.train.ioi;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The words of Loupe's synthetic IOI task, one token each: id 0 is {@code <|endoftext|>} (BOS, as in
 * GPT-2), then template words, verbs, places, objects and names. Text is words separated by single
 * spaces ({@code "When Mary and John went to the store , John gave a drink to"}); {@link #tokenizerJson()}
 * is the same vocabulary as a Hugging Face {@code WordLevel} tokenizer, so a model folder holding it
 * reads and shows text through Loupe's ordinary tokenizer.
 */
public final class IoiVocabulary {
    /** The beginning-of-sequence token, id 0; also what shorter prompts are padded with. */
    public static final String BOS = "<|endoftext|>";
    /** The token for a word outside the vocabulary (never in a prompt of the task). */
    public static final String UNKNOWN = "<unk>";

    /** The words the templates are made of. */
    public static final List<String> TEMPLATE_WORDS = List.of("When", "After", "Then", "While", "and", "went", "to",
            "the", ",", ".", "arrived", "at", "were", "had", "a", "long", "day", "working", "then", "wanted", "give",
            "so", "back");
    /** What the subject does with the object ({@code [VERB]}). */
    public static final List<String> VERBS = List.of("gave", "handed", "passed", "sent", "threw", "showed", "lent",
            "brought");
    /** {@code [PLACE]}. */
    public static final List<String> PLACES = List.of("store", "park", "school", "garden", "beach", "office", "river",
            "station", "market", "library");
    /** {@code [OBJECT]}. */
    public static final List<String> OBJECTS = List.of("drink", "book", "ball", "ring", "key", "letter", "apple",
            "hat", "bag", "pen", "cake", "card");
    /** The names: the indirect object and the subject are two of these. */
    public static final List<String> NAMES = List.of("Mary", "John", "Alice", "Bob", "Tom", "Anna", "James", "Sarah",
            "David", "Emma", "Paul", "Laura", "Mark", "Julia", "Peter", "Kate", "Daniel", "Lucy", "Simon", "Rachel");

    private static final List<String> WORDS = allWords();
    private static final Map<String, Integer> IDS = ids();

    private IoiVocabulary() {}

    /** Every token by id (id 0 is BOS). */
    public static List<String> words() {
        return WORDS;
    }

    /** The number of tokens, d_vocab. */
    public static int size() {
        return WORDS.size();
    }

    /** The id of one word. */
    public static int id(String word) {
        Integer id = IDS.get(word);
        if (id == null) {
            throw new LoupeException("'" + word + "' is not a word of the IOI vocabulary; it has " + size()
                    + " words (IoiVocabulary.words()), names such as " + NAMES.subList(0, 4));
        }
        return id;
    }

    /** The word of one id. */
    public static String word(long id) {
        if (id < 0 || id >= WORDS.size()) {
            throw new LoupeException("Token id " + id + " is outside the IOI vocabulary (0.." + (size() - 1) + ")");
        }
        return WORDS.get((int) id);
    }

    /** The ids of space-separated words (no BOS added). */
    public static long[] encode(String text) {
        String[] words = text.trim().split(" +");
        long[] ids = new long[words.length];
        for (int i = 0; i < words.length; i++) {
            ids[i] = id(words[i]);
        }
        return ids;
    }

    /** The words of {@code ids} joined by spaces (BOS shown as {@value #BOS}). */
    public static String decode(long[] ids) {
        return Arrays.stream(ids).mapToObj(IoiVocabulary::word).collect(Collectors.joining(" "));
    }

    /** Whether {@code id} is a name's. */
    public static boolean isName(long id) {
        return id >= WORDS.size() - NAMES.size() && id < WORDS.size();
    }

    /**
     * The vocabulary as a Hugging Face {@code tokenizer.json}: a {@code WordLevel} model over
     * whitespace-split words, {@value #BOS} an added special token (so {@code "<|endoftext|>When"} splits
     * into BOS and "When"), no normaliser and no post-processor (Loupe puts BOS in front itself).
     */
    public static String tokenizerJson() {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String special : List.of(BOS, UNKNOWN)) {
            ObjectNode token = added.addObject();
            token.put("id", id(special));
            token.put("content", special);
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < WORDS.size(); i++) {
            vocab.put(WORDS.get(i), i);
        }
        model.put("unk_token", UNKNOWN);
        try {
            return json.writeValueAsString(root) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> allWords() {
        List<String> words = new ArrayList<>();
        words.add(BOS);
        words.add(UNKNOWN);
        words.addAll(TEMPLATE_WORDS);
        words.addAll(VERBS);
        words.addAll(PLACES);
        words.addAll(OBJECTS);
        words.addAll(NAMES); // last, so that isName is a range check
        return List.copyOf(words);
    }

    private static Map<String, Integer> ids() {
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < WORDS.size(); i++) {
            if (ids.put(WORDS.get(i), i) != null) {
                throw new IllegalStateException("Duplicate IOI word " + WORDS.get(i));
            }
        }
        return Map.copyOf(ids);
    }
}
