package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.numeric.FilledArrays;

/**
 * What every attention layer of one pass shares, built once per pass: additive masks (0 where a query
 * may attend, exactly -inf elsewhere), rotary angles and ALiBi biases.
 *
 * @param globalMask [1 or batch, 1, pos, pos]: causal, and padded keys hidden; null when it hides nothing
 * @param localMask the same restricted to the last {@code window_size} positions, or null (none, or hides nothing)
 * @param rotary the rotary angles (of the global layers when local ones have a base of their own), or null
 * @param localRotary the rotary angles of the local layers when they have a base of their own
 *     ({@code rotary_base_local}, Gemma 3), else null
 * @param alibi the ALiBi biases [1, n_heads, pos, pos], or null
 * @param hasPadding whether a whole row can be hidden (then its pattern is 0, not NaN)
 * @param cache earlier positions' keys and values, or null
 */
public record AttentionInputs(NDArray globalMask, NDArray localMask, Rotary rotary, Rotary localRotary, NDArray alibi,
        boolean hasPadding, dev.loupe.run.KeyValueCache cache) {

    /**
     * @param pos new positions (the queries)
     * @param offset positions already in {@code cache} (0 without one)
     * @param keep [batch × (offset + pos)]: 1 for tokens and 0 for padding, over cached and new
     *     positions, or null when nothing is padded
     * @param cache the key/value cache, or null
     */
    public static AttentionInputs build(TransformerConfig cfg, NDManager manager, int batch, int pos, int offset,
            long[] keep, dev.loupe.run.KeyValueCache cache) {
        NDArray global = mask(manager, batch, pos, offset, keep, Integer.MAX_VALUE);
        NDArray local = cfg.useLocalAttn() ? mask(manager, batch, pos, offset, keep, cfg.windowSize()) : null;
        return switch (cfg.positionalEmbeddingType()) {
            case STANDARD -> new AttentionInputs(global, local, null, null, null, keep != null, cache);
            case ROTARY -> {
                long[] positions = positions(keep, batch, pos, offset);
                int rows = keep == null ? 1 : batch;
                Rotary localRotary = cfg.hasLocalRotaryBase()
                        ? Rotary.of(cfg, cfg.rotaryBaseLocal(), manager, positions, rows, pos) : null;
                yield new AttentionInputs(global, local, Rotary.of(cfg, cfg.rotaryBase(), manager, positions, rows, pos),
                        localRotary, null, keep != null, cache);
            }
            case ALIBI -> new AttentionInputs(global, local, null, null, Alibi.bias(manager, cfg.nHeads(), pos, offset),
                    keep != null, cache);
        };
    }

    /** The rotary angles of layer {@code layer} (its own base on local layers when they have one), or null. */
    public Rotary rotary(TransformerConfig cfg, int layer) {
        return localRotary != null && cfg.isLocalLayer(layer) ? localRotary : rotary;
    }

    /** The mask of layer {@code layer}, or null when it hides no key. */
    public NDArray mask(TransformerConfig cfg, int layer) {
        return cfg.isLocalLayer(layer) ? localMask : globalMask;
    }

    /** [rows, 1, pos, offset + pos]: query q (position offset + q) sees key k if k ≤ offset + q, within the window. */
    private static NDArray mask(NDManager manager, int batch, int pos, int offset, long[] keep, int window) {
        int total = offset + pos;
        if (keep == null && pos == 1 && window >= total) {
            // One query (a cached generation step) sees every key: adding a mask of zeros would change nothing.
            return null;
        }
        if (keep == null) {
            // Nothing padded: built by libtorch, so a pass leaves no Java array of pos × total floats behind.
            NDArray queries = manager.arange(offset, total, 1, DataType.INT64).reshape(pos, 1);
            NDArray keys = manager.arange(0, total, 1, DataType.INT64).reshape(1, total);
            NDArray visible = keys.lte(queries);
            if (window < total) {
                visible = visible.logicalAnd(queries.sub(keys).lt(window));
            }
            Shape shape = new Shape(pos, total);
            return NDArrays.where(visible, manager.zeros(shape), manager.full(shape, Float.NEGATIVE_INFINITY))
                    .reshape(1, 1, pos, total);
        }
        float[] bias = new float[batch * pos * total];
        for (int b = 0; b < batch; b++) {
            for (int q = 0; q < pos; q++) {
                int at = offset + q;
                for (int k = 0; k < total; k++) {
                    boolean visible = k <= at && at - k < window && keep[b * total + k] != 0;
                    bias[(b * pos + q) * total + k] = visible ? 0f : Float.NEGATIVE_INFINITY;
                }
            }
        }
        return FilledArrays.of(manager, bias, new Shape(batch, 1, pos, total));
    }

    /**
     * The positions of the new tokens: offset, offset + 1, … ; with padding, counted from each row's
     * first real token (cumsum(mask) - 1, at least 0), as TransformerLens does.
     */
    public static long[] positions(long[] keep, int batch, int pos, int offset) {
        if (keep == null) {
            long[] positions = new long[pos];
            for (int p = 0; p < pos; p++) {
                positions[p] = offset + p;
            }
            return positions;
        }
        int total = offset + pos;
        long[] positions = new long[batch * pos];
        for (int b = 0; b < batch; b++) {
            long seen = 0;
            for (int p = 0; p < total; p++) {
                seen += keep[b * total + p];
                if (p >= offset) {
                    positions[b * pos + p - offset] = Math.max(seen - 1, 0);
                }
            }
        }
        return positions;
    }
}
