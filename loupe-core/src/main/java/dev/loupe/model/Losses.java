package dev.loupe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.loupe.numeric.Scalars;

/** TransformerLens's {@code lm_cross_entropy_loss}: the loss of predicting each next token. */
public final class Losses {
    private Losses() {}

    /**
     * @param logits [batch, pos, d_vocab]
     * @param tokens int64 [batch, pos]
     * @param attentionMask [batch, pos] or null; positions where this token or the next is padding
     *     count as 0 and are left out of the mean
     * @param perToken whether to return [batch, pos - 1] instead of the mean
     * @return the mean loss (scalar) or the per-token loss [batch, pos - 1], in nats
     */
    public static NDArray crossEntropy(NDArray logits, NDArray tokens, NDArray attentionMask, boolean perToken) {
        long pos = logits.getShape().get(1);
        if (pos < 2) {
            throw new IllegalArgumentException("The loss needs at least 2 positions, got " + pos);
        }
        NDArray logProbs = logits.get(":, :-1, :").logSoftmax(-1);
        NDArray next = tokens.get(":, 1:").toType(DataType.INT64, false).expandDims(-1);
        NDArray predicted = logProbs.gather(next, -1).squeeze(-1); // [batch, pos - 1]
        float count = predicted.size();
        if (attentionMask != null) {
            NDArray mask = attentionMask.toType(DataType.FLOAT32, false);
            NDArray nextTokenMask = mask.get(":, :-1").mul(mask.get(":, 1:"));
            predicted = predicted.mul(nextTokenMask);
            count = nextTokenMask.sum().getFloat();
        }
        return perToken ? predicted.neg() : Scalars.divi(predicted.sum().neg(), count);
    }
}
