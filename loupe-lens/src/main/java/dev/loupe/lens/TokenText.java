package dev.loupe.lens;

import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import java.util.ArrayList;
import java.util.List;

/** Token ids as text for tables and exports: the model's tokenizer if it has one, else {@code #id}. */
final class TokenText {
    private final HookedTransformer model;
    private final boolean hasTokenizer;

    TokenText(HookedTransformer model) {
        this.model = model;
        boolean found;
        try {
            model.tokenizer();
            found = true;
        } catch (LoupeException e) {
            found = false;
        }
        this.hasTokenizer = found;
    }

    List<String> tokens(long[] ids) {
        if (hasTokenizer) {
            return List.copyOf(model.toStrTokens(ids));
        }
        List<String> text = new ArrayList<>();
        for (long id : ids) {
            text.add("#" + id);
        }
        return text;
    }

    /** A token for a table cell: line breaks and tabs escaped, at most {@code max} characters. */
    static String shown(String token, int max) {
        String escaped = token.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
        if (escaped.codePointCount(0, escaped.length()) <= max) {
            return escaped;
        }
        return escaped.substring(0, escaped.offsetByCodePoints(0, max - 1)) + "…";
    }
}
