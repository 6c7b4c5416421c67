package dev.loupe.lens.stats;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The tokens a batch of trajectories is computed for, each [batch][pos]: the input ids, the
 * targets whose cross-entropy, rank and log-probability difference are measured (usually the next
 * token), the anti-targets of that difference, and which positions are real (1) or padding (0).
 *
 * @param inputIds token ids [batch][pos]
 * @param targets token ids [batch][pos], or null (then cross-entropy, rank and log-prob difference are unavailable)
 * @param antiTargets token ids [batch][pos], or null (then the log-prob difference is unavailable)
 * @param attentionMask 1 for a real token, 0 for padding [batch][pos], or null (every position real)
 */
public record TrajectoryInputs(long[][] inputIds, long[][] targets, long[][] antiTargets, long[][] attentionMask) {

    /** The names {@link #read} looks for. */
    public static final String INPUT_IDS = "input_ids";
    public static final String TARGETS = "targets";
    public static final String ANTI_TARGETS = "anti_targets";
    public static final String ATTENTION_MASK = "attention_mask";

    public TrajectoryInputs {
        if (inputIds == null || inputIds.length == 0 || inputIds[0].length == 0) {
            throw new LoupeException("A trajectory needs input_ids [batch, pos] with at least one token");
        }
        checkShape(TARGETS, targets, inputIds);
        checkShape(ANTI_TARGETS, antiTargets, inputIds);
        checkShape(ATTENTION_MASK, attentionMask, inputIds);
        checkShape(INPUT_IDS, inputIds, inputIds);
        if (attentionMask != null) {
            for (long[] row : attentionMask) {
                for (long m : row) {
                    if (m != 0 && m != 1) {
                        throw new LoupeException("attention_mask holds " + m + "; it must hold only 0 (padding) and 1");
                    }
                }
            }
        }
    }

    /**
     * Reads int64 {@code input_ids} and, where present, {@code targets}, {@code anti_targets} and
     * {@code attention_mask}, each [batch, pos], from a safetensors file.
     */
    public static TrajectoryInputs read(Path file) {
        try (SafetensorsFile tensors = SafetensorsFile.open(file); NDManager manager = NDManager.newBaseManager()) {
            if (!tensors.contains(INPUT_IDS)) {
                throw new LoupeException(file + " has no '" + INPUT_IDS + "' tensor (it holds " + tensors.names()
                        + "); write int64 input_ids [batch, pos], with targets and anti_targets beside it");
            }
            return new TrajectoryInputs(rows(tensors, INPUT_IDS, manager), rows(tensors, TARGETS, manager),
                    rows(tensors, ANTI_TARGETS, manager), rows(tensors, ATTENTION_MASK, manager));
        }
    }

    /** How many sequences. */
    public int batchSize() {
        return inputIds.length;
    }

    /** How many positions each sequence has. */
    public int length() {
        return inputIds[0].length;
    }

    /** Whether position {@code pos} of sequence {@code row} is a real token. */
    public boolean isReal(int row, int pos) {
        return attentionMask == null || attentionMask[row][pos] == 1;
    }

    /** The input ids as int64 [batch, pos] in {@code manager}. */
    public NDArray inputIdsArray(NDManager manager) {
        return manager.create(inputIds);
    }

    /** The attention mask as int64 [batch, pos], or null. */
    public NDArray attentionMaskArray(NDManager manager) {
        return attentionMask == null ? null : manager.create(attentionMask);
    }

    /** Positions {@code start} (inclusive) to {@code end} (exclusive) of every array, already resolved to 0..length. */
    TrajectoryInputs slice(int start, int end) {
        return new TrajectoryInputs(columns(inputIds, start, end), columns(targets, start, end),
                columns(antiTargets, start, end), columns(attentionMask, start, end));
    }

    private static long[][] columns(long[][] rows, int start, int end) {
        if (rows == null) {
            return null;
        }
        long[][] out = new long[rows.length][];
        for (int b = 0; b < rows.length; b++) {
            out[b] = Arrays.copyOfRange(rows[b], start, end);
        }
        return out;
    }

    private static long[][] rows(SafetensorsFile tensors, String name, NDManager manager) {
        if (!tensors.contains(name)) {
            return null;
        }
        NDArray array = tensors.load(name, manager);
        if (array.getShape().dimension() != 2 || !array.getDataType().isInteger()) {
            throw new LoupeException("'" + name + "' must be an integer tensor [batch, pos], got "
                    + array.getDataType() + " " + array.getShape());
        }
        long[] flat = array.toType(DataType.INT64, false).toLongArray();
        int batch = (int) array.getShape().get(0);
        int pos = (int) array.getShape().get(1);
        long[][] out = new long[batch][];
        for (int b = 0; b < batch; b++) {
            out[b] = Arrays.copyOfRange(flat, b * pos, (b + 1) * pos);
        }
        return out;
    }

    private static void checkShape(String name, long[][] rows, long[][] inputIds) {
        if (rows == null) {
            return;
        }
        boolean same = rows.length == inputIds.length;
        for (int b = 0; same && b < rows.length; b++) {
            same = rows[b].length == inputIds[0].length;
        }
        if (!same) {
            throw new LoupeException("'" + name + "' must have the shape of input_ids [" + inputIds.length + ", "
                    + inputIds[0].length + "] (every row as long)");
        }
    }
}
