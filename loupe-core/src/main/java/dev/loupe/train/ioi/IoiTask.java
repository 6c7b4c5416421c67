package dev.loupe.train.ioi;

import dev.loupe.LoupeException;
import dev.loupe.train.TrainingRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Loupe's synthetic indirect-object-identification task, fixed by a seed: which {@link IoiTemplate}s are
 * held out of training (one per introduction, so that every introduction and every action is still
 * trained on in other combinations) and which name pairs never appear together in training (every name
 * keeps at least {@value #MIN_TRAINING_PARTNERS} training partners). Prompts come in both orders (ABB and
 * BAB) and with a random place, object and verb.
 *
 * <pre>{@code
 * IoiTask task = IoiTask.of(0);
 * List<IoiPrompt> prompts = task.prompts(IoiSplit.HELD_OUT_TEMPLATES, 100, 1);
 * }</pre>
 */
public final class IoiTask {
    /** The context the task needs: BOS plus the longest prompt, padded. */
    public static final int N_CTX = 24;
    /** How many unordered name pairs are held out. */
    public static final int HELD_OUT_PAIRS = 30;
    /** Each name keeps at least this many partners it is trained with. */
    public static final int MIN_TRAINING_PARTNERS = 14;

    /** Keeps the split's random stream apart from the training batches'. */
    private static final long SPLIT_SALT = 0x10150L;

    private final long seed;
    private final List<IoiTemplate> trainingTemplates = new ArrayList<>();
    private final List<IoiTemplate> heldOutTemplates = new ArrayList<>();
    private final List<int[]> trainingPairs = new ArrayList<>();
    private final List<int[]> heldOutPairs = new ArrayList<>();

    private IoiTask(long seed) {
        this.seed = seed;
        TrainingRandom random = TrainingRandom.seeded(seed ^ SPLIT_SALT);
        int offset = random.nextInt(IoiTemplate.ACTIONS.size());
        for (IoiTemplate t : IoiTemplate.ALL) {
            boolean held = t.action() == (t.intro() + offset) % IoiTemplate.ACTIONS.size();
            (held ? heldOutTemplates : trainingTemplates).add(t);
        }
        int names = IoiVocabulary.NAMES.size();
        List<int[]> pairs = new ArrayList<>();
        for (int a = 0; a < names; a++) {
            for (int b = a + 1; b < names; b++) {
                pairs.add(new int[] {a, b});
            }
        }
        for (int i = pairs.size() - 1; i > 0; i--) { // Fisher-Yates with the split's own stream
            int j = random.nextInt(i + 1);
            int[] swap = pairs.get(i);
            pairs.set(i, pairs.get(j));
            pairs.set(j, swap);
        }
        int[] partners = new int[names];
        Arrays.fill(partners, names - 1);
        for (int[] pair : pairs) {
            boolean hold = heldOutPairs.size() < HELD_OUT_PAIRS && partners[pair[0]] > MIN_TRAINING_PARTNERS
                    && partners[pair[1]] > MIN_TRAINING_PARTNERS;
            if (hold) {
                partners[pair[0]]--;
                partners[pair[1]]--;
                heldOutPairs.add(pair);
            } else {
                trainingPairs.add(pair);
            }
        }
    }

    /** The task of {@code seed}: the same seed gives the same split and the same prompts everywhere. */
    public static IoiTask of(long seed) {
        return new IoiTask(seed);
    }

    public long seed() {
        return seed;
    }

    /** The templates the model trains on. */
    public List<IoiTemplate> trainingTemplates() {
        return List.copyOf(trainingTemplates);
    }

    /** The templates it never sees in training. */
    public List<IoiTemplate> heldOutTemplates() {
        return List.copyOf(heldOutTemplates);
    }

    /** The unordered name pairs ("Alice+Bob", names in vocabulary order) never together in training. */
    public Set<String> heldOutPairs() {
        return pairNames(heldOutPairs);
    }

    /** The unordered name pairs training draws from. */
    public Set<String> trainingPairs() {
        return pairNames(trainingPairs);
    }

    /** One training prompt drawn from {@code random} (training templates and pairs). */
    public IoiPrompt trainingPrompt(TrainingRandom random) {
        return draw(IoiSplit.TRAIN, null, random);
    }

    /** {@code n} prompts of {@code split}, reproducible from {@code promptSeed}. */
    public List<IoiPrompt> prompts(IoiSplit split, int n, long promptSeed) {
        return prompts(split, null, n, promptSeed);
    }

    /**
     * {@code n} prompts of {@code split}, all of one template (so that they line up position by position,
     * as activation patching wants), reproducible from {@code promptSeed}.
     *
     * @param template a template of the split (a held-out one for the held-out-template splits), or null for any
     */
    public List<IoiPrompt> prompts(IoiSplit split, IoiTemplate template, int n, long promptSeed) {
        if (template != null && (split.heldOutTemplates() ? !heldOutTemplates.contains(template)
                : !trainingTemplates.contains(template))) {
            throw new LoupeException("Template " + template.name() + " is not one of split " + split + "'s: pick from "
                    + (split.heldOutTemplates() ? "heldOutTemplates()" : "trainingTemplates()"));
        }
        TrainingRandom random = TrainingRandom.seeded(promptSeed);
        List<IoiPrompt> prompts = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            prompts.add(draw(split, template, random));
        }
        return prompts;
    }

    private IoiPrompt draw(IoiSplit split, IoiTemplate fixed, TrainingRandom random) {
        List<IoiTemplate> templates = split.heldOutTemplates() ? heldOutTemplates : trainingTemplates;
        List<int[]> pairs = split.heldOutPairs() ? heldOutPairs : trainingPairs;
        IoiTemplate template = fixed != null ? fixed : templates.get(random.nextInt(templates.size()));
        int[] pair = pairs.get(random.nextInt(pairs.size()));
        boolean firstIsIo = random.nextInt(2) == 0;
        long io = nameId(pair[firstIsIo ? 0 : 1]);
        long s = nameId(pair[firstIsIo ? 1 : 0]);
        boolean ioFirst = random.nextInt(2) == 0;
        String place = IoiVocabulary.PLACES.get(random.nextInt(IoiVocabulary.PLACES.size()));
        String object = IoiVocabulary.OBJECTS.get(random.nextInt(IoiVocabulary.OBJECTS.size()));
        String verb = IoiVocabulary.VERBS.get(random.nextInt(IoiVocabulary.VERBS.size()));
        String[] words = template.text().split(" ");
        long[] tokens = new long[words.length + 1];
        int ioPosition = -1;
        int s1Position = -1;
        int s2Position = -1;
        for (int i = 0; i < words.length; i++) {
            int at = i + 1;
            tokens[at] = switch (words[i]) {
                case "[X]" -> ioFirst ? io : s;
                case "[Y]" -> ioFirst ? s : io;
                case "[S]" -> s;
                case "[PLACE]" -> IoiVocabulary.id(place);
                case "[OBJECT]" -> IoiVocabulary.id(object);
                case "[VERB]" -> IoiVocabulary.id(verb);
                default -> IoiVocabulary.id(words[i]);
            };
            switch (words[i]) {
                case "[X]" -> {
                    if (ioFirst) {
                        ioPosition = at;
                    } else {
                        s1Position = at;
                    }
                }
                case "[Y]" -> {
                    if (ioFirst) {
                        s1Position = at;
                    } else {
                        ioPosition = at;
                    }
                }
                case "[S]" -> s2Position = at;
                default -> { }
            }
        }
        return new IoiPrompt(tokens, io, s, template.index(), ioFirst, ioPosition, s1Position, s2Position);
    }

    private static long nameId(int name) {
        return IoiVocabulary.id(IoiVocabulary.NAMES.get(name));
    }

    private static Set<String> pairNames(List<int[]> pairs) {
        Set<String> names = new TreeSet<>();
        for (int[] p : pairs) {
            names.add(IoiVocabulary.NAMES.get(p[0]) + "+" + IoiVocabulary.NAMES.get(p[1]));
        }
        return names;
    }
}
