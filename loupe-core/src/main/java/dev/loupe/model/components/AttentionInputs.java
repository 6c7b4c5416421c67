package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.model.TransformerConfig;

/**
 * What every attention layer of one pass shares, built once per pass: additive masks (0 where a query
 * may attend, exactly -inf elsewhere), rotary angles and ALiBi biases.
 *
 * @param globalMask [1 or batch, 1, pos, pos]: causal, and padded keys hidden
 * @param localMask the same restricted to the last {@code window_size} positions, or null
 * @param rotary the rotary angles, or null
 * @param alibi the ALiBi biases [1, n_heads, pos, pos], or null
 * @param hasPadding whether a whole row can be hidden (then its pattern is 0, not NaN)
 */
public record AttentionInputs(NDArray globalMask, NDArray localMask, Rotary rotary, NDArray alibi, boolean hasPadding) {

    /**
     * @param padding [batch, pos] int64, 1 for tokens and 0 for padding, or null
     */
    public static AttentionInputs build(TransformerConfig cfg, NDManager manager, int batch, int pos, NDArray padding) {
        long[] keep = padding == null ? null : padding.toType(DataType.INT64, false).toLongArray();
        NDArray global = mask(manager, batch, pos, keep, Integer.MAX_VALUE);
        NDArray local = cfg.useLocalAttn() ? mask(manager, batch, pos, keep, cfg.windowSize()) : null;
        Rotary rotary = cfg.positionalEmbeddingType().equals("rotary")
                ? Rotary.of(cfg, manager, keep == null ? null : positions(keep, batch, pos), batch, pos) : null;
        NDArray alibi = cfg.positionalEmbeddingType().equals("alibi") ? Alibi.bias(manager, cfg.nHeads(), pos) : null;
        return new AttentionInputs(global, local, rotary, alibi, keep != null);
    }

    /** The mask of layer {@code layer}. */
    public NDArray mask(TransformerConfig cfg, int layer) {
        return cfg.isLocalLayer(layer) ? localMask : globalMask;
    }

    private static NDArray mask(NDManager manager, int batch, int pos, long[] keep, int window) {
        int rows = keep == null ? 1 : batch;
        float[] bias = new float[rows * pos * pos];
        for (int b = 0; b < rows; b++) {
            for (int q = 0; q < pos; q++) {
                for (int k = 0; k < pos; k++) {
                    boolean visible = k <= q && q - k < window && (keep == null || keep[b * pos + k] != 0);
                    bias[(b * pos + q) * pos + k] = visible ? 0f : Float.NEGATIVE_INFINITY;
                }
            }
        }
        return manager.create(bias, new Shape(rows, 1, pos, pos));
    }

    /** Each token's position counted from the first real token of its row: cumsum(mask) - 1, at least 0. */
    private static long[] positions(long[] keep, int batch, int pos) {
        long[] positions = new long[keep.length];
        for (int b = 0; b < batch; b++) {
            long seen = 0;
            for (int p = 0; p < pos; p++) {
                seen += keep[b * pos + p];
                positions[b * pos + p] = Math.max(seen - 1, 0);
            }
        }
        return positions;
    }
}
