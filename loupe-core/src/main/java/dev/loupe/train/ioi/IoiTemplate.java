package dev.loupe.train.ioi;

import java.util.ArrayList;
import java.util.List;

/**
 * One sentence shape of the IOI task: an introduction naming two people ({@code [X]} then {@code [Y]})
 * at a {@code [PLACE]}, and an action in which the subject {@code [S]} (one of them again) passes an
 * {@code [OBJECT]} "to" someone; the answer, the next word, is the other person, the indirect object.
 * Templates are every introduction × every action ({@link #ALL}).
 *
 * @param index position in {@link #ALL}
 * @param intro index into {@link #INTROS}
 * @param action index into {@link #ACTIONS}
 */
public record IoiTemplate(int index, int intro, int action) {
    /** The introductions; the two names sit at different positions in each. */
    public static final List<String> INTROS = List.of(
            "When [X] and [Y] went to the [PLACE] ,",
            "After [X] and [Y] arrived at the [PLACE] ,",
            "[X] and [Y] were at the [PLACE] .",
            "Then , [X] and [Y] had a long day at the [PLACE] .",
            "While [X] and [Y] were working at the [PLACE] ,");
    /** The actions; each ends with "to", before the answer. */
    public static final List<String> ACTIONS = List.of(
            "[S] [VERB] a [OBJECT] to",
            "then [S] [VERB] the [OBJECT] to",
            "[S] wanted to give the [OBJECT] to",
            "so [S] [VERB] a [OBJECT] back to");
    /** Every template, intro-major. */
    public static final List<IoiTemplate> ALL = all();

    /** The template's words, placeholders included ({@code "When [X] and [Y] went ..."}). */
    public String text() {
        return INTROS.get(intro) + " " + ACTIONS.get(action);
    }

    /** {@code T<index>}. */
    public String name() {
        return "T" + index;
    }

    private static List<IoiTemplate> all() {
        List<IoiTemplate> all = new ArrayList<>();
        for (int i = 0; i < INTROS.size(); i++) {
            for (int a = 0; a < ACTIONS.size(); a++) {
                all.add(new IoiTemplate(all.size(), i, a));
            }
        }
        return List.copyOf(all);
    }
}
