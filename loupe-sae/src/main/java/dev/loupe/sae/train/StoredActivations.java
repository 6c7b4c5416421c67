package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.CheckpointException;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Activations read back from an {@link ActivationStore} folder, {@code chunkTokens} at a time in the order they
 * were stored, starting again at the end. With the chunk size of the {@link ModelActivations} that filled the
 * store ({@code store_batch_size_prompts · context}), training on it equals training on the model's activations.
 * Holds one shard in memory at a time.
 */
public final class StoredActivations implements ActivationSource, AutoCloseable {
    private final Path dir;
    private final ActivationStore.Manifest manifest;
    private final long[] starts; // the first token of each shard
    private final int chunkTokens;
    private final NDManager manager;
    private int loaded = -1;
    private NDArray shard;
    private long next;

    /** Opens the store in {@code dir}; chunks of {@code chunkTokens} activations. */
    public StoredActivations(Path dir, int chunkTokens, NDManager parent) {
        if (chunkTokens <= 0) {
            throw new LoupeException("Chunks need at least one token, got " + chunkTokens);
        }
        this.dir = dir;
        this.manifest = ActivationStore.read(dir);
        this.chunkTokens = chunkTokens;
        this.starts = new long[manifest.shards().size()];
        long start = 0;
        for (int i = 0; i < starts.length; i++) {
            starts[i] = start;
            start += manifest.shards().get(i).tokens();
        }
        this.manager = parent.newSubManager();
    }

    /** The store's manifest (hook name, d_in, shards). */
    public ActivationStore.Manifest manifest() {
        return manifest;
    }

    @Override
    public int dIn() {
        return manifest.dIn();
    }

    @Override
    public NDArray next(NDManager out) {
        long total = manifest.totalTokens();
        NDArray chunk = null;
        long left = chunkTokens;
        while (left > 0) {
            int s = shardOf(next);
            NDArray rows = shard(s);
            long from = next - starts[s];
            long to = Math.min(rows.getShape().get(0), from + left);
            NDArray piece = rows.get(new NDIndex(from + ":" + to));
            chunk = chunk == null ? piece : chunk.concat(piece, 0);
            left -= to - from;
            next = (next + to - from) % total;
        }
        NDArray result = chunk.duplicate();
        result.attach(out);
        return result;
    }

    private int shardOf(long token) {
        int i = Arrays.binarySearch(starts, token);
        return i >= 0 ? i : -i - 2;
    }

    private NDArray shard(int index) {
        if (index != loaded) {
            if (shard != null) {
                shard.close();
            }
            ActivationStore.Shard info = manifest.shards().get(index);
            Path file = dir.resolve(info.file());
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                if (!f.contains(ActivationStore.TENSOR)) {
                    throw new CheckpointException(file + " has no tensor " + ActivationStore.TENSOR);
                }
                NDArray rows = f.load(ActivationStore.TENSOR, manager).toType(DataType.FLOAT32, false);
                long[] shape = rows.getShape().getShape();
                if (shape.length != 2 || shape[0] != info.tokens() || shape[1] != manifest.dIn()) {
                    throw new CheckpointException(file + ": " + ActivationStore.TENSOR + " has shape " + rows.getShape()
                            + " but the manifest says [" + info.tokens() + ", " + manifest.dIn() + "]");
                }
                shard = rows;
            }
            loaded = index;
        }
        return shard;
    }

    @Override
    public long position() {
        return next;
    }

    @Override
    public void seek(long position) {
        if (position < 0 || position >= manifest.totalTokens()) {
            throw new LoupeException("A saved position " + position + " is outside the store's "
                    + manifest.totalTokens() + " activations; the checkpoint was made on another store");
        }
        next = position;
    }

    @Override
    public void close() {
        manager.close();
    }
}
