package dev.loupe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Additive attention masks: 0 where a query may attend to a key, -inf where it may not. Adding
 * -inf to a finite score gives exactly -inf, TransformerLens's {@code IGNORE} value.
 */
final class AttentionMasks {
    private AttentionMasks() {}

    /**
     * @param pos number of positions
     * @param padding [batch, pos] of 1 (token) / 0 (padding), or null
     * @return [1, 1, pos, pos] (causal only) or [batch, 1, pos, pos] (causal and padded keys)
     */
    static NDArray causal(NDManager manager, int pos, NDArray padding) {
        int batch = padding == null ? 1 : (int) padding.getShape().get(0);
        long[] keep = padding == null ? null : padding.toType(DataType.INT64, false).toLongArray();
        float[] bias = new float[batch * pos * pos];
        for (int b = 0; b < batch; b++) {
            for (int q = 0; q < pos; q++) {
                for (int k = 0; k < pos; k++) {
                    boolean visible = k <= q && (keep == null || keep[b * pos + k] != 0);
                    bias[(b * pos + q) * pos + k] = visible ? 0f : Float.NEGATIVE_INFINITY;
                }
            }
        }
        return manager.create(bias, new Shape(batch, 1, pos, pos));
    }
}
