package dev.loupe.cli.support;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Token ids given as a file ({@code --input IN}): a safetensors file holding int64 {@code input_ids
 * [batch, pos]} and, optionally, {@code attention_mask [batch, pos]} (int64 or bool; 1 = real token,
 * 0 = padding). Each problem is reported with what the file must hold instead.
 *
 * @param ids int64 [batch, pos]
 * @param attentionMask [batch, pos], or null when the file has none
 */
public record TokenInput(NDArray ids, NDArray attentionMask) {

    /** Reads {@code file}'s tensors into {@code manager}. */
    public static TokenInput read(Path file, NDManager manager) {
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            NDArray ids = inputIds(file, in, manager);
            return new TokenInput(ids, in.contains("attention_mask") ? mask(file, in, ids, manager) : null);
        }
    }

    private static NDArray inputIds(Path file, SafetensorsFile in, NDManager manager) {
        if (!in.contains("input_ids")) {
            throw new LoupeException(file + " has no tensor 'input_ids' (it holds: "
                    + (in.names().isEmpty() ? "nothing" : String.join(", ", in.names()))
                    + "); write the token ids as int64 input_ids [batch, pos]");
        }
        TensorInfo info = in.info("input_ids");
        if (!info.dtype().equals("I64")) {
            throw new LoupeException(file + ": input_ids has dtype " + info.dtype()
                    + " but must be int64 (I64); in numpy use .astype(np.int64)");
        }
        if (info.shape().length != 2) {
            throw new LoupeException(file + ": input_ids has shape " + LoupeCommand.shape(info.shape())
                    + " but must be [batch, pos]; in numpy use ids[None, :] for a single sequence");
        }
        if (info.shape()[0] == 0 || info.shape()[1] == 0) {
            throw new LoupeException(file + ": input_ids has shape " + LoupeCommand.shape(info.shape())
                    + "; it needs at least one sequence of at least one token");
        }
        return in.load("input_ids", manager);
    }

    private static NDArray mask(Path file, SafetensorsFile in, NDArray inputIds, NDManager manager) {
        TensorInfo info = in.info("attention_mask");
        if (!info.dtype().equals("I64") && !info.dtype().equals("BOOL")) {
            throw new LoupeException(file + ": attention_mask has dtype " + info.dtype()
                    + " but must be int64 (I64) or bool (BOOL)");
        }
        long[] ids = inputIds.getShape().getShape();
        if (!Arrays.equals(info.shape(), ids)) {
            throw new LoupeException(file + ": attention_mask has shape " + LoupeCommand.shape(info.shape())
                    + " but input_ids has shape " + LoupeCommand.shape(ids) + "; they must match");
        }
        return in.load("attention_mask", manager);
    }
}
