package dev.loupe.run;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import java.util.Arrays;

/**
 * The keys and values of every position seen so far, per layer, so that a forward pass over new
 * tokens attends to earlier ones without recomputing them (TransformerLens's
 * {@code HookedTransformerKeyValueCache}). Keys are stored after any q/k norm and the rotary rotation
 * (each layer's own base, so Gemma 3's local and global layers need nothing more), at the key/value head
 * count; sliding windows are the attention mask's business, so every position is kept.
 * Storage is preallocated and doubled when full, so appending a token costs
 * the same however long the cache is. {@link #freeze()} keeps a prefix for many continuations.
 *
 * <p>Pass it with {@code ForwardOptions.pastKvCache}; the cache owns its memory ({@link #close()}).
 */
public final class KeyValueCache implements AutoCloseable {
    private final NDManager manager = NDManager.newBaseManager();
    private final int batch;
    private final int kvHeads;
    private final int dHead;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int[] lengths;
    private long[] mask = new long[0]; // [batch, length], 1 for tokens, 0 for padding
    private int length;
    private boolean frozen;

    /** An empty cache for {@code batch} sequences of the model {@code cfg} describes. */
    public KeyValueCache(TransformerConfig cfg, int batch) {
        this.batch = batch;
        this.kvHeads = cfg.ungroupGroupedQueryAttention() ? cfg.nHeads() : cfg.kvHeads();
        this.dHead = cfg.dHead();
        this.keys = new NDArray[cfg.nLayers()];
        this.values = new NDArray[cfg.nLayers()];
        this.lengths = new int[cfg.nLayers()];
    }

    /** Positions cached so far. */
    public int length() {
        return length;
    }

    /** The batch size the cache was made for. */
    public int batch() {
        return batch;
    }

    /** Keep the cache as it is: later passes attend to it but add nothing. */
    public void freeze() {
        frozen = true;
    }

    /** Let later passes append again. */
    public void unfreeze() {
        frozen = false;
    }

    /** Whether the cache is frozen. */
    public boolean isFrozen() {
        return frozen;
    }

    /** The attention mask of the cached positions followed by {@code next} [batch × pos] (all ones if null). */
    public long[] maskWith(long[] next, int pos) {
        long[] full = new long[batch * (length + pos)];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(mask, b * length, full, b * (length + pos), length);
            for (int p = 0; p < pos; p++) {
                full[b * (length + pos) + length + p] = next == null ? 1 : next[b * pos + p];
            }
        }
        return full;
    }

    /** Records a finished pass over {@code pos} new positions whose full mask is {@code fullMask}. */
    public void advance(int pos, long[] fullMask) {
        if (!frozen) {
            length += pos;
            mask = Arrays.copyOf(fullMask, fullMask.length);
        }
    }

    /**
     * For the attention layers: adds layer {@code layer}'s new keys and values [batch, pos, kv_heads, d_head]
     * (unless frozen) and returns
     * every position's, cached ones first, as arrays of the caller's manager.
     */
    public NDArray[] append(int layer, NDArray newKeys, NDArray newValues) {
        int cached = lengths[layer];
        int pos = (int) newKeys.getShape().get(1);
        if (frozen) {
            if (cached == 0) {
                return new NDArray[] {newKeys, newValues};
            }
            NDManager caller = newKeys.getManager();
            return new NDArray[] {
                NDArrays.concat(new NDList(view(keys[layer], caller, cached), newKeys), 1),
                NDArrays.concat(new NDList(view(values[layer], caller, cached), newValues), 1)};
        }
        ensureCapacity(layer, cached + pos);
        NDIndex slot = new NDIndex().addAllDim().addSliceDim(cached, cached + pos);
        keys[layer].set(slot, newKeys);
        values[layer].set(slot, newValues);
        lengths[layer] = cached + pos;
        NDManager caller = newKeys.getManager();
        return new NDArray[] {view(keys[layer], caller, cached + pos), view(values[layer], caller, cached + pos)};
    }

    private void ensureCapacity(int layer, int needed) {
        long capacity = keys[layer] == null ? 0 : keys[layer].getShape().get(1);
        if (needed <= capacity) {
            return;
        }
        long grown = Math.max(needed, Math.max(16, 2 * capacity));
        Shape shape = new Shape(batch, grown, kvHeads, dHead);
        NDArray newKeys = manager.zeros(shape);
        NDArray newValues = manager.zeros(shape);
        if (keys[layer] != null) {
            NDIndex old = new NDIndex().addAllDim().addSliceDim(0, lengths[layer]);
            newKeys.set(old, keys[layer].get(old));
            newValues.set(old, values[layer].get(old));
            keys[layer].close();
            values[layer].close();
        }
        keys[layer] = newKeys;
        values[layer] = newValues;
    }

    /** The first {@code length} positions of a buffer, as a copy owned by the pass that reads them. */
    private static NDArray view(NDArray buffer, NDManager caller, int length) {
        return buffer.get(caller, new NDIndex().addAllDim().addSliceDim(0, length));
    }

    @Override
    public void close() {
        manager.close();
    }
}
