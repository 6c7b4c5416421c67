package dev.loupe.train.ioi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import java.util.List;

/**
 * IOI prompts of different lengths as one right-padded batch: each row is BOS, the prompt, then BOS
 * again up to the width. A causal model's logits at a prompt's last position do not see the padding
 * after it, so {@link #ends()} picks each prompt's prediction out of the batch's logits.
 *
 * @param ids int64 token ids [batch × width] flattened row by row
 * @param width the padded length
 * @param ends each prompt's last position
 * @param answers each prompt's right answer (the IO)
 * @param subjects each prompt's subject (S)
 */
public record IoiBatch(long[] ids, int width, int[] ends, long[] answers, long[] subjects) {

    /** {@code prompts} padded to {@code width} tokens. */
    public static IoiBatch of(List<IoiPrompt> prompts, int width) {
        long[] ids = new long[prompts.size() * width];
        int[] ends = new int[prompts.size()];
        long[] answers = new long[prompts.size()];
        long[] subjects = new long[prompts.size()];
        for (int b = 0; b < prompts.size(); b++) {
            IoiPrompt p = prompts.get(b);
            if (p.tokens().length > width) {
                throw new LoupeException("An IOI prompt of " + p.tokens().length + " tokens does not fit a batch "
                        + width + " wide: use a width of at least the longest prompt (IoiTask.N_CTX)");
            }
            System.arraycopy(p.tokens(), 0, ids, b * width, p.tokens().length);
            ends[b] = p.end();
            answers[b] = p.io();
            subjects[b] = p.s();
        }
        return new IoiBatch(ids, width, ends, answers, subjects);
    }

    /** The number of prompts. */
    public int size() {
        return ends.length;
    }

    /** The ids as a tensor [batch, width]. */
    public NDArray tokens(NDManager manager) {
        return manager.create(ids, new Shape(size(), width));
    }

    /**
     * A one-hot float32 mask [batch, width, d_vocab] that is 1 at each prompt's (end, answer): the mean of
     * {@code -(logSoftmax(logits) * mask)} summed per prompt is the answer's cross-entropy.
     */
    public NDArray answerMask(NDManager manager, int dVocab) {
        float[] mask = new float[size() * width * dVocab];
        for (int b = 0; b < size(); b++) {
            mask[(b * width + ends[b]) * dVocab + (int) answers[b]] = 1f;
        }
        return manager.create(mask, new Shape(size(), width, dVocab)).toType(DataType.FLOAT32, false);
    }
}
