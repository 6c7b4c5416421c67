package dev.loupe.analysis.evals;

import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Indirect-object-identification prompts, after TransformerLens's {@code IOIDataset} (Wang et al.
 * 2022): two names are introduced, the subject (S) is repeated, and the sentence ends with the
 * other, indirect object (IO): "Alice and Bob walked to the park. Bob passed the book to Alice".
 * A model that has learnt the task prefers " Alice" to " Bob" at the last position.
 *
 * <p>Templates hold {@code [A]} (becomes the IO), {@code [B]} (the S) and any {@code [NOUN_TYPE]}
 * key of the nouns map; each placeholder is replaced by one random choice, everywhere it occurs.
 * The default names, places, objects and templates are Loupe's own.
 */
public final class IoiDataset {
    /** Loupe's default names: common, and each a separate word after a space. */
    public static final List<String> DEFAULT_NAMES = List.of("Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace",
            "Henry", "Laura", "Peter");

    /** Loupe's default templates; each ends with [A], the indirect object. */
    public static final List<String> DEFAULT_TEMPLATES = List.of(
            "[A] and [B] walked to the [PLACE]. [B] passed the [OBJECT] to [A]",
            "While [A] and [B] were at the [PLACE], [B] lent a [OBJECT] to [A]",
            "After [B] and [A] left the [PLACE], [B] threw the [OBJECT] to [A]");

    /** Loupe's default nouns by placeholder. */
    public static final Map<String, List<String>> DEFAULT_NOUNS = defaultNouns();

    /**
     * One prompt.
     *
     * @param text the whole sentence, ending with the IO name
     * @param io the indirect object with a leading space (" Alice")
     * @param s the subject with a leading space (" Bob")
     */
    public record Sample(String text, String io, String s) {}

    private final List<Sample> samples;
    private final boolean prependBos;

    private IoiDataset(List<Sample> samples, boolean prependBos) {
        this.samples = List.copyOf(samples);
        this.prependBos = prependBos;
    }

    /** {@code numSamples} prompts from the default lists, BOS prepended, reproducible from {@code seed}. */
    public static IoiDataset generate(int numSamples, boolean symmetric, long seed) {
        return generate(DEFAULT_TEMPLATES, DEFAULT_NAMES, DEFAULT_NOUNS, numSamples, symmetric, true, seed);
    }

    /**
     * Draws prompts: for each, a template, one noun per placeholder type, and two distinct names.
     *
     * @param symmetric also add each prompt with the two names swapped; then {@code numSamples / 2}
     *     draws give {@code numSamples} prompts (rounded down to even), as in TransformerLens
     * @param prependBos whether {@link Ioi#ioiEval} puts BOS before each prompt
     */
    public static IoiDataset generate(List<String> templates, List<String> names, Map<String, List<String>> nouns,
            int numSamples, boolean symmetric, boolean prependBos, long seed) {
        if (templates.isEmpty() || names.size() < 2) {
            throw new LoupeException("An IOI dataset needs at least one template and two names");
        }
        Random random = new Random(seed);
        List<Sample> samples = new ArrayList<>();
        int draws = symmetric ? numSamples / 2 : numSamples;
        for (int i = 0; i < draws; i++) {
            String template = templates.get(random.nextInt(templates.size()));
            for (Map.Entry<String, List<String>> noun : nouns.entrySet()) {
                List<String> choices = noun.getValue();
                template = template.replace("[" + noun.getKey() + "]", choices.get(random.nextInt(choices.size())));
            }
            List<String> pool = new ArrayList<>(names);
            Collections.shuffle(pool, random);
            String a = pool.get(0);
            String b = pool.get(1);
            samples.add(new Sample(template.replace("[A]", a).replace("[B]", b), " " + a, " " + b));
            if (symmetric) {
                samples.add(new Sample(template.replace("[A]", b).replace("[B]", a), " " + b, " " + a));
            }
        }
        return new IoiDataset(samples, prependBos);
    }

    /** The prompts, in order. */
    public List<Sample> samples() {
        return samples;
    }

    /** Number of prompts. */
    public int size() {
        return samples.size();
    }

    /** Whether evaluation puts BOS in front of each prompt. */
    public boolean prependBos() {
        return prependBos;
    }

    private static Map<String, List<String>> defaultNouns() {
        Map<String, List<String>> nouns = new LinkedHashMap<>();
        nouns.put("PLACE", List.of("park", "library", "beach", "station", "museum"));
        nouns.put("OBJECT", List.of("book", "ball", "key", "letter", "ring", "cup"));
        return Collections.unmodifiableMap(nouns);
    }
}
