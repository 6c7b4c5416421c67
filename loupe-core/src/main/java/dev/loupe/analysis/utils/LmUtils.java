package dev.loupe.analysis.utils;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;

/** TransformerLens's language-modelling helpers that work on logits ({@code utils.lm_accuracy}). */
public final class LmUtils {
    private LmUtils() {}

    /**
     * Top-1 accuracy of predicting each next token: {@code argmax(logits)[:, :-1] == tokens[:, 1:]}.
     *
     * @param logits [batch, pos, d_vocab]
     * @param tokens [batch, pos]
     * @param perToken whether to return the boolean [batch, pos - 1] instead of the mean
     * @return the fraction correct (float32 scalar) or boolean [batch, pos - 1], in the logits' manager
     */
    public static NDArray lmAccuracy(NDArray logits, NDArray tokens, boolean perToken) {
        if (logits.getShape().dimension() != 3 || tokens.getShape().dimension() != 2) {
            throw new LoupeException("lmAccuracy takes logits [batch, pos, d_vocab] and tokens [batch, pos], got "
                    + logits.getShape() + " and " + tokens.getShape());
        }
        NDArray top = logits.argMax(-1).toType(DataType.INT64, false); // [batch, pos]
        NDArray correct = top.get(":, :-1").eq(tokens.toType(DataType.INT64, false).get(":, 1:"));
        if (perToken) {
            return correct;
        }
        return correct.toType(DataType.FLOAT32, false).sum().div(correct.size());
    }
}
