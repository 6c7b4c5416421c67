package dev.loupe.viz;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.hook.ActName;
import java.util.List;

/**
 * The attention patterns of every head of one layer for one sequence: what CircuitsVis's
 * {@code attention_heads} shows.
 *
 * @param layer the block the patterns come from
 * @param tokens the sequence's token labels, one per position
 * @param pattern {@code [head_index, query_pos, key_pos]}: how much each destination (query) token
 *     attends to each source (key) token; each row sums to 1
 */
public record AttentionPatterns(int layer, List<String> tokens, float[][][] pattern) {

    public AttentionPatterns {
        tokens = List.copyOf(tokens);
        if (pattern.length == 0) {
            throw new IllegalArgumentException("Attention patterns need at least one head");
        }
        for (float[][] head : pattern) {
            if (head.length != tokens.size()) {
                throw new IllegalArgumentException("Each head's pattern must be [pos, pos] with pos = " + tokens.size()
                        + " tokens, got " + head.length + " rows");
            }
            for (float[] row : head) {
                if (row.length != tokens.size()) {
                    throw new IllegalArgumentException("Each pattern row must have " + tokens.size()
                            + " source positions, got " + row.length);
                }
            }
        }
    }

    /** How many heads. */
    public int nHeads() {
        return pattern.length;
    }

    /** How many positions. */
    public int nPos() {
        return tokens.size();
    }

    /**
     * Reads {@code blocks.<layer>.attn.hook_pattern} [batch, head_index, query_pos, key_pos] from a cache.
     *
     * @param batch which sequence of the batch
     * @param tokens its token labels (see {@link TokenText#labels})
     */
    public static AttentionPatterns fromCache(ActivationCache cache, int layer, int batch, List<String> tokens) {
        String name = ActName.of("pattern", layer);
        if (!cache.containsKey(name)) {
            throw new LoupeException("The cache has no " + name + "; run the model with a cache that keeps the"
                    + " attention patterns (CacheOptions.all() or CacheOptions.matching(\".*hook_pattern\"))");
        }
        NDArray all = cache.get(name);
        Shape shape = all.getShape();
        if (shape.dimension() != 4 || shape.get(2) != tokens.size() || shape.get(3) != tokens.size()) {
            throw new LoupeException(name + " has shape " + shape + " but " + tokens.size()
                    + " token labels were given; expected [batch, head_index, " + tokens.size() + ", "
                    + tokens.size() + "]");
        }
        if (batch < 0 || batch >= shape.get(0)) {
            throw new LoupeException("Sequence " + batch + " is outside the cache's batch of " + shape.get(0));
        }
        int heads = (int) shape.get(1);
        int pos = tokens.size();
        float[] flat;
        try (NDArray one = all.get(new NDIndex(batch)); NDArray asFloat = one.toType(DataType.FLOAT32, false)) {
            flat = asFloat.toFloatArray();
        }
        float[][][] pattern = new float[heads][pos][pos];
        for (int h = 0; h < heads; h++) {
            for (int q = 0; q < pos; q++) {
                System.arraycopy(flat, (h * pos + q) * pos, pattern[h][q], 0, pos);
            }
        }
        return new AttentionPatterns(layer, tokens, pattern);
    }
}
