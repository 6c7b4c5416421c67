package dev.loupe.lens.stats;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.List;

/**
 * One per-position statistic of a batch of trajectories: a value per sequence, row and position,
 * rows being the lens's layers and then the model's output (or, for a layer-to-layer difference,
 * one row fewer).
 *
 * @param name what it measures, e.g. {@code "entropy"}
 * @param rowLabels one per row: {@code "0"} … for the lens's layers, {@code "output"}, or {@code "0→1"} … for a
 *     layer-to-layer difference
 * @param perSequence [batch][row][pos]
 * @param attentionMask [batch][pos] of 1 (real) and 0 (padding), or null: every position is real
 */
public record TrajectoryStatistic(String name, List<String> rowLabels, float[][][] perSequence,
        long[][] attentionMask) {

    public TrajectoryStatistic {
        rowLabels = List.copyOf(rowLabels);
        if (perSequence.length == 0 || perSequence[0].length != rowLabels.size()) {
            throw new LoupeException("A trajectory statistic needs one label per row: " + rowLabels.size()
                    + " labels for " + (perSequence.length == 0 ? 0 : perSequence[0].length) + " rows");
        }
    }

    /** Row labels of a lens with {@code layers} layers: "0" … "layers-1", "output". */
    public static List<String> layerLabels(int layers) {
        List<String> labels = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            labels.add(Integer.toString(layer));
        }
        labels.add("output");
        return labels;
    }

    /** A copy under another name (the library's name for the same numbers). */
    public TrajectoryStatistic named(String other) {
        return new TrajectoryStatistic(other, rowLabels, perSequence, attentionMask);
    }

    /** How many rows each sequence has. */
    public int rows() {
        return perSequence[0].length;
    }

    /**
     * The mean over the batch [row][pos], taken over the sequences whose token at that position is
     * real; NaN where no sequence has one. Without padding it is the library's plain mean over the batch.
     */
    public float[][] batched() {
        int rows = rows();
        int pos = perSequence[0][0].length;
        float[][] mean = new float[rows][pos];
        for (int p = 0; p < pos; p++) {
            int count = 0;
            for (int b = 0; b < perSequence.length; b++) {
                count += attentionMask == null || attentionMask[b][p] == 1 ? 1 : 0;
            }
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int b = 0; b < perSequence.length; b++) {
                    if (attentionMask == null || attentionMask[b][p] == 1) {
                        sum += perSequence[b][r][p];
                    }
                }
                mean[r][p] = count == 0 ? Float.NaN : (float) (sum / count);
            }
        }
        return mean;
    }

    /**
     * Every {@code step}-th row and always the last (the model's output): rows 0, step, 2·step, … below
     * the last, then the last, as the library's {@code TrajectoryStatistic.stride}.
     */
    public TrajectoryStatistic stride(int step) {
        if (step < 1) {
            throw new LoupeException("A stride must be at least 1, got " + step);
        }
        int rows = rows();
        int kept = (rows - 1 + step - 1) / step + 1;
        float[][][] out = new float[perSequence.length][kept][];
        List<String> labels = new ArrayList<>();
        for (int r = 0; r < rows - 1; r += step) {
            labels.add(rowLabels.get(r));
        }
        labels.add(rowLabels.get(rows - 1));
        for (int b = 0; b < perSequence.length; b++) {
            int i = 0;
            for (int r = 0; r < rows - 1; r += step) {
                out[b][i++] = perSequence[b][r].clone();
            }
            out[b][i] = perSequence[b][rows - 1].clone();
        }
        return new TrajectoryStatistic(name, labels, out, attentionMask);
    }

    /** {@link #batched()} as float32 [row, pos]. */
    public NDArray batchedArray(NDManager manager) {
        return manager.create(batched());
    }

    /** {@link #perSequence()} as float32 [batch, row, pos]. */
    public NDArray perSequenceArray(NDManager manager) {
        int rows = rows();
        int pos = perSequence[0][0].length;
        float[] flat = new float[perSequence.length * rows * pos];
        for (int b = 0; b < perSequence.length; b++) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(perSequence[b][r], 0, flat, (b * rows + r) * pos, pos);
            }
        }
        return manager.create(flat, new Shape(perSequence.length, rows, pos));
    }
}
