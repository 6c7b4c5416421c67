package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.LoupeException;
import dev.loupe.numeric.FilledArrays;
import dev.loupe.train.TrainingRandom;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SAELens's mixing buffer ({@code n_batches_in_buffer}): chunks from the source are stored until the store
 * holds at least {@code bufferSize} activations, then the store is shuffled across all its rows, the first
 * {@code max(1, rows / (2·batch))} batches are handed out, the rest stays and is mixed with the next chunks.
 * So every batch mixes activations of many sequences. The shuffles draw from the run's {@link TrainingRandom};
 * {@link #state()} and {@link #restore} let a checkpoint carry the buffer exactly.
 */
public final class MixingBuffer implements AutoCloseable {
    private final ActivationSource source;
    private final int bufferSize;
    private final int batchSize;
    private final TrainingRandom random;
    private final NDManager manager;
    private NDArray storage; // [rows, d_in], null until the first chunk
    private NDArray serving; // [servingBatches·batch, d_in], null until the first shuffle
    private int served;
    private int servingBatches;

    /**
     * @param bufferSize activations stored before a shuffle ({@code n_batches_in_buffer · train_batch_size_tokens})
     * @param batchSize activations per batch ({@code train_batch_size_tokens})
     */
    public MixingBuffer(ActivationSource source, int bufferSize, int batchSize, TrainingRandom random, NDManager parent) {
        if (bufferSize < batchSize) {
            throw new LoupeException("The buffer (" + bufferSize + ") must hold at least one batch (" + batchSize + ")");
        }
        this.source = source;
        this.bufferSize = bufferSize;
        this.batchSize = batchSize;
        this.random = random;
        this.manager = parent.newSubManager();
    }

    /** The next batch [batch, d_in], owned by {@code out}. */
    public NDArray nextBatch(NDManager out) {
        while (serving == null || served == servingBatches) {
            refill();
        }
        NDArray batch = serving.get(new NDIndex((long) served * batchSize + ":" + (long) (served + 1) * batchSize))
                .duplicate();
        batch.attach(out);
        served++;
        return batch;
    }

    private void refill() {
        while (storage == null || storage.getShape().get(0) < bufferSize) {
            NDArray chunk = source.next(manager);
            replaceStorage(storage == null ? chunk : storage.concat(chunk, 0));
            if (chunk != storage) {
                chunk.close();
            }
        }
        int rows = Math.toIntExact(storage.getShape().get(0));
        NDArray shuffled = storage.get(FilledArrays.of(manager, permutation(rows)));
        servingBatches = Math.max(1, rows / (2 * batchSize));
        long cutoff = (long) servingBatches * batchSize;
        if (serving != null) {
            serving.close();
        }
        serving = shuffled.get(new NDIndex(":" + cutoff)).duplicate();
        replaceStorage(shuffled.get(new NDIndex(cutoff + ":")).duplicate());
        shuffled.close();
        served = 0;
    }

    private void replaceStorage(NDArray next) {
        if (storage != null && storage != next) {
            storage.close();
        }
        storage = next;
    }

    /** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
    private long[] permutation(int n) {
        long[] p = new long[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** The buffer's tensors ({@code storage}, {@code serving}; absent before the first batch) for a checkpoint. */
    public Map<String, NDArray> state() {
        Map<String, NDArray> s = new LinkedHashMap<>();
        if (storage != null) {
            s.put("storage", storage);
        }
        if (serving != null) {
            s.put("serving", serving);
        }
        return s;
    }

    /** How many batches of the current serving part were handed out, and how many it has, for a checkpoint. */
    public int[] cursor() {
        return new int[] {served, servingBatches};
    }

    /** Continues from a checkpoint's {@link #state()} and {@link #cursor()}. */
    public void restore(Map<String, NDArray> state, int[] cursor) {
        replaceStorage(copy(state.get("storage")));
        if (serving != null) {
            serving.close();
        }
        serving = copy(state.get("serving"));
        served = cursor[0];
        servingBatches = cursor[1];
        if (serving != null && serving.getShape().get(0) != (long) servingBatches * batchSize) {
            throw new LoupeException("The checkpoint's buffer holds " + serving.getShape().get(0) + " activations to"
                    + " hand out, not " + servingBatches + " batches of " + batchSize + "; it was made with another"
                    + " batch size");
        }
    }

    private NDArray copy(NDArray a) {
        if (a == null) {
            return null;
        }
        NDArray c = a.duplicate();
        c.attach(manager);
        return c;
    }

    @Override
    public void close() {
        manager.close();
    }
}
