package dev.loupe.lens.data;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * English prose written by this project (for the tokenizer benchmark and for training lenses without outside data):
 * sentences assembled from a fixed word list with a fixed seed, so every run tokenizes the same text. No outside
 * text is used.
 */
public final class EnglishText {
    private static final String[] SUBJECTS = {
        "The old lighthouse keeper", "A curious student", "Every morning the baker", "The quiet river",
        "Our neighbour's dog", "The committee", "A tired traveller", "The small company", "My grandmother",
        "The orchestra", "A young engineer", "The city council", "Nobody in the village", "The scientist",
    };
    private static final String[] VERBS = {
        "walked along", "wrote about", "carefully measured", "forgot", "painted", "argued over", "repaired",
        "listened to", "discovered", "could not explain", "quietly watched", "borrowed", "described", "built",
    };
    private static final String[] OBJECTS = {
        "the broken clock", "a letter from 1923", "the northern road", "three loaves of bread",
        "the results of the experiment", "an unusual pattern in the data", "the garden wall", "the last train",
        "a map of the coast", "the price of coffee", "twenty-seven small boxes", "the meaning of the word",
    };
    private static final String[] ENDINGS = {
        "before the sun went down", "while it was raining", "without saying a word", "because nobody else would",
        "in the middle of the night", "as if nothing had happened", "for the second time this year",
        "although it wasn't easy", "and then went home", "with remarkable patience",
    };
    private static final String[] CONNECTIVES = {"However,", "Later,", "Meanwhile,", "Of course,", "Still,", ""};

    private EnglishText() {}

    /** At least {@code chars} characters of prose, in paragraphs (the tokenizer benchmark's text). */
    public static String generate(int chars) {
        return generate(chars, 7);
    }

    /** At least {@code chars} characters of prose from {@code seed}, in paragraphs separated by a blank line. */
    public static String generate(int chars, long seed) {
        Random random = new Random(seed);
        StringBuilder text = new StringBuilder(chars + 200);
        int sentences = 0;
        while (text.length() < chars) {
            String connective = pick(random, CONNECTIVES);
            String subject = pick(random, SUBJECTS);
            if (!connective.isEmpty()) {
                text.append(connective).append(' ').append(Character.toLowerCase(subject.charAt(0)))
                        .append(subject, 1, subject.length());
            } else {
                text.append(subject);
            }
            text.append(' ').append(pick(random, VERBS)).append(' ').append(pick(random, OBJECTS)).append(' ')
                    .append(pick(random, ENDINGS)).append(random.nextInt(5) == 0 ? "!" : ".");
            text.append(++sentences % 6 == 0 ? "\n\n" : " ");
        }
        return text.toString();
    }

    /** The paragraphs of {@link #generate(int, long)} as separate documents. */
    public static List<String> documents(int chars, long seed) {
        return Arrays.stream(generate(chars, seed).split("\n\n")).map(String::strip).filter(p -> !p.isEmpty())
                .toList();
    }

    private static String pick(Random random, String[] options) {
        return options[random.nextInt(options.length)];
    }
}
