package dev.loupe.tokenize;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Tokens as text for people: in tables, labels and exports. A token is its tokenizer's text for it,
 * or {@code #id} when there is no tokenizer (a model folder without tokenizer files); for display,
 * spaces show as ␣ and line breaks and control characters are escaped, so that every token stays
 * visible and on one line.
 */
public final class TokenDisplay {
    private TokenDisplay() {}

    /**
     * Each id's text as the tokenizer decodes it alone (a lone piece of a multi-byte character is
     * U+FFFD), or {@code #id} for every id when {@code tokenizer} is null.
     *
     * @param tokenizer the model's tokenizer, or null when it has none
     */
    public static List<String> texts(Tokenizer tokenizer, long[] ids) {
        List<String> texts = new ArrayList<>(ids.length);
        for (long id : ids) {
            texts.add(tokenizer == null ? "#" + id : tokenizer.decodeToken(id));
        }
        return texts;
    }

    /**
     * Each id's display label: its text as {@link #display} shows it, or {@code #id} when
     * {@code tokenizer} is null.
     *
     * @param tokenizer the model's tokenizer, or null when it has none
     */
    public static List<String> labels(Tokenizer tokenizer, long[] ids) {
        List<String> labels = new ArrayList<>(ids.length);
        for (long id : ids) {
            labels.add(label(tokenizer, id));
        }
        return labels;
    }

    /** One id's display label: see {@link #labels}. */
    public static String label(Tokenizer tokenizer, long id) {
        return tokenizer == null ? "#" + id : display(tokenizer.decodeToken(id));
    }

    /** {@code " fox"} → {@code "␣fox"}, {@code "\n"} → {@code "\\n"}, {@code "\u0007"} → {@code "\\x07"}. */
    public static String display(String token) {
        return visible(token, true);
    }

    /**
     * Escapes line breaks, tabs and other control characters ({@code \n}, {@code \t}, {@code \x07}),
     * and shows spaces as ␣ if {@code markSpaces}.
     */
    public static String visible(String text, boolean markSpaces) {
        StringBuilder shown = new StringBuilder();
        text.codePoints().forEach(c -> {
            switch (c) {
                case ' ' -> shown.append(markSpaces ? "␣" : " ");
                case '\n' -> shown.append("\\n");
                case '\r' -> shown.append("\\r");
                case '\t' -> shown.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) {
                        shown.append(String.format(Locale.ROOT, "\\x%02x", c));
                    } else {
                        shown.appendCodePoint(c);
                    }
                }
            }
        });
        return shown.toString();
    }

    /** {@code text} cut to at most {@code max} code points, ending in … when cut. */
    public static String shorten(String text, int max) {
        if (text.codePointCount(0, text.length()) <= max) {
            return text;
        }
        return text.substring(0, text.offsetByCodePoints(0, Math.max(0, max - 1))) + "…";
    }
}
