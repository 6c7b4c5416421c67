package dev.loupe.viz;

import dev.loupe.LoupeException;
import dev.loupe.model.TextMethods;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Tokens as labels: spaces shown as ␣, line breaks and control characters escaped. */
public final class TokenText {
    private TokenText() {}

    /**
     * The display label of each token id: the tokenizer's text for it, or {@code #id} when the model
     * has no tokenizer.
     */
    public static List<String> labels(TextMethods model, long[] ids) {
        List<String> labels = new ArrayList<>(ids.length);
        List<String> texts = null;
        try {
            texts = model.toStrTokens(ids);
        } catch (LoupeException e) {
            // No tokenizer in the model folder: name tokens by id.
        }
        for (int i = 0; i < ids.length; i++) {
            labels.add(texts == null ? "#" + ids[i] : display(texts.get(i)));
        }
        return labels;
    }

    /** {@code " fox"} → {@code "␣fox"}, {@code "\n"} → {@code "\\n"}, {@code "\u0007"} → {@code "\\x07"}. */
    public static String display(String token) {
        return visible(token, true);
    }

    /** Escapes line breaks and control characters ({@code \n}, {@code \x07}), and shows spaces as ␣ if asked. */
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
