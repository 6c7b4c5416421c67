package dev.loupe.lens.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Evaluation data given as token ids instead of text: an integer {@code input_ids} [sequences, pos]
 * in a safetensors file, one sequence per row. There are no bytes to count, so the metrics are in
 * nats (the factor is 1).
 */
public final class TokenIdInput {
    public static final String INPUT_IDS = "input_ids";

    private TokenIdInput() {}

    /** The rows of {@code input_ids} in {@code file}, in order, as sequences measured in nats. */
    public static TokenChunks read(Path file) {
        try (SafetensorsFile tensors = SafetensorsFile.open(file); NDManager manager = NDManager.newBaseManager()) {
            if (!tensors.contains(INPUT_IDS)) {
                throw new LoupeException(file + " has no '" + INPUT_IDS + "' tensor (it holds " + tensors.names()
                        + "); write the token ids as int64 input_ids [sequences, pos]");
            }
            NDArray ids = tensors.load(INPUT_IDS, manager);
            if (ids.getShape().dimension() != 2 || !ids.getDataType().isInteger() || ids.size() == 0) {
                throw new LoupeException("'" + INPUT_IDS + "' in " + file + " must be integer [sequences, pos], got "
                        + ids.getDataType() + " " + ids.getShape());
            }
            long[] flat = ids.toType(DataType.INT64, false).toLongArray();
            int pos = (int) ids.getShape().get(1);
            List<long[]> rows = new ArrayList<>();
            for (int start = 0; start < flat.length; start += pos) {
                rows.add(Arrays.copyOfRange(flat, start, start + pos));
            }
            return new TokenChunks(rows, 1.0);
        }
    }
}
