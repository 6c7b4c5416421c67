package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.numeric.FilledArrays;

/**
 * Rotary position embeddings: the first {@code rotary_dim} dimensions of each query and key head are
 * rotated by position-dependent angles, the rest pass through. Two layouts: the two halves of the
 * rotated part form the pairs (GPT-NeoX, Llama, …), or adjacent dimensions do (GPT-J).
 *
 * <p>Frequencies follow Hugging Face: {@code inv_freq_i = θ^(-2i/rotary_dim)} in float32, with
 * Llama 3's frequency-dependent scaling when the config asks for it.
 *
 * @param cos [batch or 1, pos, 1, rotary_dim]
 * @param sin [batch or 1, pos, 1, rotary_dim]
 * @param rotaryDim how many dimensions rotate
 * @param adjacentPairs GPT-J's layout
 */
public record Rotary(NDArray cos, NDArray sin, int rotaryDim, boolean adjacentPairs) {

    /**
     * The angles for every position of a pass.
     *
     * @param base the rotary θ ({@code rotary_base}, or {@code rotary_base_local} for local layers)
     * @param positions the position of each token [rows, pos]
     * @param rows 1 when every sequence has the same positions, else the batch size
     */
    public static Rotary of(TransformerConfig cfg, double base, NDManager manager, long[] positions, int rows, int pos) {
        int rotaryDim = cfg.rotaryDim();
        float[] invFreq = inverseFrequencies(cfg, base);
        float[] cos = new float[rows * pos * rotaryDim];
        float[] sin = new float[cos.length];
        int half = rotaryDim / 2;
        for (int r = 0; r < rows; r++) {
            for (int p = 0; p < pos; p++) {
                float position = positions[r * pos + p];
                int offset = (r * pos + p) * rotaryDim;
                for (int i = 0; i < half; i++) {
                    float angle = position * invFreq[i];
                    float c = (float) Math.cos(angle);
                    float s = (float) Math.sin(angle);
                    // Halves layout repeats the frequencies as (f0..fn, f0..fn); adjacent pairs as (f0, f0, f1, f1, …).
                    int first = cfg.rotaryAdjacentPairs() ? offset + 2 * i : offset + i;
                    int second = cfg.rotaryAdjacentPairs() ? offset + 2 * i + 1 : offset + half + i;
                    cos[first] = c;
                    cos[second] = c;
                    sin[first] = s;
                    sin[second] = s;
                }
            }
        }
        Shape shape = new Shape(rows, pos, 1, rotaryDim);
        return new Rotary(FilledArrays.of(manager, cos, shape), FilledArrays.of(manager, sin, shape), rotaryDim,
                cfg.rotaryAdjacentPairs());
    }

    /** x [batch, pos, head_index, d_head] → the same with its first {@code rotary_dim} dimensions rotated. */
    public NDArray apply(NDArray x) {
        long dHead = x.getShape().get(3);
        NDArray rot = rotaryDim == dHead ? x : x.get("..., :" + rotaryDim);
        NDArray rotated = rot.mul(cos).add(rotateHalf(rot).mul(sin));
        return rotaryDim == dHead ? rotated : NDArrays.concat(new NDList(rotated, x.get("..., " + rotaryDim + ":")), -1);
    }

    /** (x1, x2) → (-x2, x1) over the pairs of the layout. */
    private NDArray rotateHalf(NDArray x) {
        Shape shape = x.getShape();
        if (adjacentPairs) {
            NDArray pairs = x.reshape(shape.get(0), shape.get(1), shape.get(2), rotaryDim / 2, 2);
            NDArray even = pairs.get("..., 0");
            NDArray odd = pairs.get("..., 1");
            return NDArrays.stack(new NDList(odd.neg(), even), -1).reshape(shape);
        }
        int half = rotaryDim / 2;
        return NDArrays.concat(new NDList(x.get("..., " + half + ":").neg(), x.get("..., :" + half)), -1);
    }

    /** θ^(-2i/d) for i &lt; d/2, in float32 as Hugging Face computes them, with Llama 3 scaling if set. */
    static float[] inverseFrequencies(TransformerConfig cfg, double base) {
        int rotaryDim = cfg.rotaryDim();
        float[] invFreq = new float[rotaryDim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            float exponent = (float) (2 * i) / rotaryDim;
            invFreq[i] = 1.0f / (float) Math.pow(base, exponent);
        }
        if (cfg.useNtkByPartsRope()) {
            double factor = cfg.ntkByPartsFactor();
            double lowFreqWavelen = cfg.ntkOriginalCtxLen() / cfg.ntkByPartsLowFreqFactor();
            double highFreqWavelen = cfg.ntkOriginalCtxLen() / cfg.ntkByPartsHighFreqFactor();
            for (int i = 0; i < invFreq.length; i++) {
                double wavelen = 2 * Math.PI / invFreq[i];
                if (wavelen > lowFreqWavelen) {
                    invFreq[i] = (float) (invFreq[i] / factor);
                } else if (wavelen >= highFreqWavelen) {
                    double smooth = (cfg.ntkOriginalCtxLen() / wavelen - cfg.ntkByPartsLowFreqFactor())
                            / (cfg.ntkByPartsHighFreqFactor() - cfg.ntkByPartsLowFreqFactor());
                    invFreq[i] = (float) ((1 - smooth) * invFreq[i] / factor + smooth * invFreq[i]);
                }
            }
        }
        return invFreq;
    }
}
