package dev.loupe.spark.harvest;

import dev.loupe.LoupeException;
import dev.loupe.spark.ModelSpec;
import java.io.Serializable;

/**
 * What a harvest runs and keeps.
 *
 * @param model the model every executor loads
 * @param hooks a Java regular expression the WHOLE hook name must match (as {@code loupe cache --hooks})
 * @param chunkSize tokens per chunk (sequence length)
 * @param batchChunks chunks per forward pass: chunks {@code [b·this, (b+1)·this)} of a group form batch {@code b},
 *     whatever the partitioning, so that the output never depends on it
 * @param partitions partitions of the chunks (tasks of the forward passes)
 * @param fromPosition the first position kept (0: all)
 * @param toPosition one past the last position kept ({@code chunkSize}: all)
 */
public record HarvestOptions(ModelSpec model, String hooks, int chunkSize, int batchChunks, int partitions,
        int fromPosition, int toPosition) implements Serializable {
    private static final long serialVersionUID = 1L;

    public HarvestOptions {
        if (chunkSize <= 0 || batchChunks <= 0 || partitions <= 0) {
            throw new LoupeException("A harvest needs a positive chunk size, chunks per batch and partitions, got "
                    + chunkSize + ", " + batchChunks + " and " + partitions);
        }
        if (fromPosition < 0 || toPosition > chunkSize || fromPosition >= toPosition) {
            throw new LoupeException("The kept positions [" + fromPosition + ", " + toPosition + ") are not inside a"
                    + " chunk of " + chunkSize + " tokens; give 0 <= from < to <= the chunk size");
        }
    }

    /** Every position of chunks of {@code chunkSize}, 8 chunks a batch. */
    public static HarvestOptions of(ModelSpec model, String hooks, int chunkSize, int partitions) {
        return new HarvestOptions(model, hooks, chunkSize, 8, partitions, 0, chunkSize);
    }

    /** These options keeping positions {@code [from, to)} only. */
    public HarvestOptions positions(int from, int to) {
        return new HarvestOptions(model, hooks, chunkSize, batchChunks, partitions, from, to);
    }

    /** These options with {@code chunks} chunks per forward pass. */
    public HarvestOptions batchChunks(int chunks) {
        return new HarvestOptions(model, hooks, chunkSize, chunks, partitions, fromPosition, toPosition);
    }
}
