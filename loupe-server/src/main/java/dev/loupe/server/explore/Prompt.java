package dev.loupe.server.explore;

import dev.loupe.LoupeException;
import dev.loupe.tokenize.TextOptions;

/**
 * A prompt as a request gives it: text for a model with a tokenizer, or token ids.
 *
 * @param text the text (the model's tokenizer adds BOS as it does by default), or null
 * @param tokens token ids [pos], or null
 */
public record Prompt(String text, long[] tokens) {

    /** The prompt's token ids [pos], checked against the model's vocabulary and context and {@code limits}. */
    public long[] ids(ServedModel served, Limits limits, String field) {
        if ((text == null) == (tokens == null)) {
            throw new LoupeException(field + " needs exactly one of \"text\" (a string) or \"tokens\" (token ids)");
        }
        var config = served.model().config();
        long[] ids;
        if (text != null) {
            if (!served.model().hasTokenizer()) {
                throw new LoupeException(served.name() + " has no tokenizer: give " + field + " as \"tokens\" (ids 0.."
                        + (config.dVocab() - 1) + ")");
            }
            if (text.length() > 16 * limits.maxPromptTokens()) {
                throw new LoupeException(field + " is " + text.length() + " characters; at most "
                        + limits.maxPromptTokens() + " tokens are allowed: shorten it");
            }
            ids = served.model().textEncoder().encode(text, TextOptions.defaults());
        } else {
            ids = tokens.clone();
            for (long id : ids) {
                if (id < 0 || id >= config.dVocab()) {
                    throw new LoupeException(field + " has token id " + id + ", outside the vocabulary 0.."
                            + (config.dVocab() - 1));
                }
            }
        }
        int max = Math.min(limits.maxPromptTokens(), config.nCtx());
        if (ids.length > max) {
            throw new LoupeException(field + " has " + ids.length + " tokens, more than the " + max
                    + " allowed (the server's limit and the model's n_ctx " + config.nCtx() + "): shorten it");
        }
        if (ids.length < 2) {
            throw new LoupeException(field + " has " + ids.length + " token(s); give at least 2");
        }
        return ids;
    }
}
