package dev.loupe.train.ioi;

import java.util.Arrays;

/**
 * One IOI prompt: BOS then the words of a filled {@link IoiTemplate}, up to the "to" whose next word is
 * the answer, the indirect object (IO); the subject (S) is the name said twice.
 *
 * @param tokens BOS and the prompt's ids, without the answer [length]
 * @param io the indirect object's id, the right answer
 * @param s the subject's id
 * @param template index into {@link IoiTemplate#ALL}
 * @param ioFirst whether the IO is named first ("When Mary and John ..., John gave ... to": the ABB order)
 *     or second (the BAB order)
 * @param ioPosition where the IO stands in {@code tokens}
 * @param s1Position where S is first named
 * @param s2Position where S is named again, as the subject
 */
public record IoiPrompt(long[] tokens, long io, long s, int template, boolean ioFirst, int ioPosition, int s1Position,
        int s2Position) {

    /** The last position, "to", where the model predicts the answer. */
    public int end() {
        return tokens.length - 1;
    }

    /** The words, BOS left out. */
    public String text() {
        return IoiVocabulary.decode(Arrays.copyOfRange(tokens, 1, tokens.length));
    }

    /** The right answer's word. */
    public String ioWord() {
        return IoiVocabulary.word(io);
    }

    /** The subject's word. */
    public String sWord() {
        return IoiVocabulary.word(s);
    }

    /**
     * The same sentence with the other person as the subject: only the S2 token changes, and the
     * answer with it (IO and S swap roles). The IOI paper's corrupted run for activation patching.
     */
    public IoiPrompt swapped() {
        long[] other = tokens.clone();
        other[s2Position] = io;
        return new IoiPrompt(other, s, io, template, !ioFirst, s1Position, ioPosition, s2Position);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IoiPrompt p && Arrays.equals(tokens, p.tokens) && io == p.io && s == p.s
                && template == p.template && ioFirst == p.ioFirst && ioPosition == p.ioPosition
                && s1Position == p.s1Position && s2Position == p.s2Position;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(tokens) + Long.hashCode(io * 131 + s);
    }

    @Override
    public String toString() {
        return text() + " -> " + ioWord() + " (S " + sWord() + ", " + IoiTemplate.ALL.get(template).name() + ")";
    }
}
