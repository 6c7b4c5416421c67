package dev.loupe.tokenize;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Texts as a padded batch of token ids.
 *
 * @param ids [batch, pos] token ids, padded with the tokenizer's pad id
 * @param attentionMask [batch, pos]: 1 for a real token, 0 for padding
 * @param lengths the number of real tokens of each text
 */
public record TokenBatch(long[][] ids, long[][] attentionMask, int[] lengths) {

    /** Whether any text was padded. */
    public boolean isPadded() {
        for (int length : lengths) {
            if (length != width()) {
                return true;
            }
        }
        return false;
    }

    /** The number of positions, the longest text's length. */
    public int width() {
        return ids.length == 0 ? 0 : ids[0].length;
    }

    /** The ids as int64 [batch, pos], owned by {@code manager}. */
    public NDArray idsArray(NDManager manager) {
        return manager.create(flatten(ids), new Shape(ids.length, width()));
    }

    /** The attention mask as int64 [batch, pos], owned by {@code manager}. */
    public NDArray maskArray(NDManager manager) {
        return manager.create(flatten(attentionMask), new Shape(attentionMask.length, width()));
    }

    private long[] flatten(long[][] rows) {
        long[] flat = new long[rows.length * width()];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, flat, i * width(), width());
        }
        return flat;
    }
}
