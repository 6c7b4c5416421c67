package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.numeric.FilledArrays;

/**
 * ALiBi attention biases (BLOOM): {@code m_h · (k − q)} added to head h's scores, TransformerLens's
 * form (Hugging Face adds {@code m_h · k}; the softmax is the same). The slopes are BLOOM's for any
 * head count: the geometric sequence for the largest power of two below it, then the odd terms of the
 * sequence for twice that.
 */
public final class Alibi {
    private Alibi() {}

    /** The slope of each of {@code nHeads} heads. */
    public static double[] slopes(int nHeads) {
        int closestPowerOfTwo = Integer.highestOneBit(nHeads);
        double base = Math.pow(2, -8.0 / closestPowerOfTwo);
        double[] slopes = new double[nHeads];
        for (int h = 0; h < closestPowerOfTwo; h++) {
            slopes[h] = Math.pow(base, h + 1);
        }
        double extraBase = Math.pow(2, -8.0 / (2 * closestPowerOfTwo));
        for (int h = closestPowerOfTwo, k = 1; h < nHeads; h++, k += 2) {
            slopes[h] = Math.pow(extraBase, k);
        }
        return slopes;
    }

    /** The bias [1, n_heads, pos, offset + pos] for {@code pos} queries after {@code offset} cached positions. */
    public static NDArray bias(NDManager manager, int nHeads, int pos, int offset) {
        double[] slopes = slopes(nHeads);
        int total = offset + pos;
        float[] bias = new float[nHeads * pos * total];
        for (int h = 0; h < nHeads; h++) {
            float slope = (float) slopes[h];
            for (int q = 0; q < pos; q++) {
                for (int k = 0; k < total; k++) {
                    bias[(h * pos + q) * total + k] = slope * (k - (offset + q));
                }
            }
        }
        return FilledArrays.of(manager, bias, new Shape(1, nHeads, pos, total));
    }
}
