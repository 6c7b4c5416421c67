package dev.loupe.tokenize;

import dev.loupe.LoupeException;
import java.util.Arrays;
import java.util.List;

/**
 * TransformerLens's {@code to_tokens}: BOS handling, truncation to {@code n_ctx} and padding.
 *
 * <p>BOS: when the model wants one ({@code default_prepend_bos}, or the caller's override) and the
 * tokenizer does not add it, the BOS token's text is put in front of the text before encoding, as
 * TransformerLens does; when the tokenizer adds one the model does not want, it is removed.
 */
public final class TextEncoder {
    private final Tokenizer tokenizer;
    private final boolean defaultPrependBos;
    private final int nCtx;

    /**
     * @param tokenizer the model's tokenizer
     * @param defaultPrependBos the model's {@code default_prepend_bos}
     * @param nCtx the model's context length, the truncation limit
     */
    public TextEncoder(Tokenizer tokenizer, boolean defaultPrependBos, int nCtx) {
        this.tokenizer = tokenizer;
        this.defaultPrependBos = defaultPrependBos;
        this.nCtx = nCtx;
    }

    /** Whether texts encoded with {@code options} start with the BOS token. */
    public boolean prependsBos(TextOptions options) {
        return options.prependBos() != null ? options.prependBos() : defaultPrependBos;
    }

    /** The token ids of one text (no padding). */
    public long[] encode(String text, TextOptions options) {
        boolean prependBos = prependsBos(options);
        String input = prependBos && !tokenizer.prependsBos() ? tokenizer.bosToken() + text : text;
        long[] ids = tokenizer.encode(input);
        if (options.truncate() && ids.length > nCtx) {
            ids = Arrays.copyOf(ids, nCtx);
        }
        if (!prependBos && tokenizer.prependsBos() && ids.length > 0 && ids[0] == tokenizer.bosId()) {
            ids = Arrays.copyOfRange(ids, 1, ids.length);
        }
        return ids;
    }

    /** Texts as one batch, padded on {@code options.paddingSide()} with the pad token. */
    public TokenBatch encode(List<String> texts, TextOptions options) {
        if (texts.isEmpty()) {
            throw new LoupeException("No text to tokenize: the list is empty");
        }
        long[][] rows = new long[texts.size()][];
        int width = 0;
        for (int i = 0; i < rows.length; i++) {
            rows[i] = encode(texts.get(i), options);
            width = Math.max(width, rows[i].length);
        }
        boolean left = options.paddingSide() == PaddingSide.LEFT;
        long[][] ids = new long[rows.length][];
        long[][] mask = new long[rows.length][width];
        int[] lengths = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            int offset = left ? width - rows[i].length : 0;
            if (rows[i].length == width) {
                ids[i] = rows[i];
            } else {
                ids[i] = new long[width];
                Arrays.fill(ids[i], tokenizer.padId());
                System.arraycopy(rows[i], 0, ids[i], offset, rows[i].length);
            }
            Arrays.fill(mask[i], offset, offset + rows[i].length, 1L);
            lengths[i] = rows[i].length;
        }
        return new TokenBatch(ids, mask, lengths);
    }

    /** The tokenizer underneath. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }
}
