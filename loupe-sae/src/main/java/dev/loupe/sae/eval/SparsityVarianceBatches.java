package dev.loupe.sae.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.sae.Sae;

/**
 * SAELens's {@code get_sparsity_and_variance_metrics} over several batches: per-token values of every batch's kept
 * tokens are pooled and averaged (l0, l1, norms, l2_ratio, explained_variance_legacy, cossim, and mse, whose tokens
 * are each divided by their own batch's token count); relative_reconstruction_bias is averaged per batch; the
 * parts of explained_variance (mean Σx², mean x², mean Σ(x − x̂)²) are averaged per batch before they are combined.
 */
final class SparsityVarianceBatches {
    private final Sae sae;
    private double sumIn;
    private double sumOut;
    private double sumRatio;
    private double sumLegacy;
    private double sumCos;
    private double sumMse;
    private double sumL0;
    private double sumL1;
    private long tokens;
    private int batches;
    private double sumBias;
    private double sumMeanSumSq;
    private double sumMeanSquare;
    private double sumMeanRss;
    private double[] activeTokens;
    private double[] activePrompts;

    SparsityVarianceBatches(Sae sae) {
        this.sae = sae;
        activeTokens = new double[sae.cfg().dSae()];
        activePrompts = new double[sae.cfg().dSae()];
    }

    /**
     * @param x the activation at the SAE's hook for one batch [prompts, pos, ..]
     * @param keep per token of the batch (row-major [prompts, pos]) whether it counts
     */
    void add(NDArray x, boolean[] keep, int prompts, NDManager scratch) {
        long dIn = sae.cfg().dIn();
        int dSae = sae.cfg().dSae();
        NDArray acts = sae.encode(x).reshape(-1, dSae);
        NDArray flatIn = x.reshape(-1, dIn);
        NDArray flatOut = sae.forward(x).reshape(-1, dIn);
        NDArray keptMask = scratch.create(keep).toType(DataType.FLOAT32, false).reshape(-1, 1);
        // Per feature: SAELens multiplies the activations by the mask before counting.
        NDArray active = acts.mul(keptMask).gt(0f).toType(DataType.FLOAT32, false).reshape(prompts, -1, dSae);
        NDArray perPrompt = active.sum(new int[] {1}); // [prompts, d_sae]
        float[] tokensActive = perPrompt.sum(new int[] {0}).toFloatArray();
        float[] promptsActive = perPrompt.gt(0f).toType(DataType.FLOAT32, false).sum(new int[] {0}).toFloatArray();
        for (int f = 0; f < dSae; f++) {
            activeTokens[f] += tokensActive[f];
            activePrompts[f] += promptsActive[f];
        }
        int kept = 0;
        for (boolean k : keep) {
            kept += k ? 1 : 0;
        }
        if (kept < keep.length) {
            long[] rows = new long[kept];
            for (int t = 0, r = 0; t < keep.length; t++) {
                if (keep[t]) {
                    rows[r++] = t;
                }
            }
            NDIndex index = new NDIndex("{}", scratch.create(rows));
            flatIn = flatIn.get(index);
            flatOut = flatOut.get(index);
            acts = acts.get(index);
        }
        int n = kept;
        float[] normIn = flatIn.norm(new int[] {-1}).toFloatArray();
        float[] normOut = flatOut.norm(new int[] {-1}).toFloatArray();
        float[] dot = flatIn.mul(flatOut).sum(new int[] {-1}).toFloatArray();
        float[] rss = flatIn.sub(flatOut).square().sum(new int[] {-1}).toFloatArray();
        float[] spread = flatIn.sub(flatIn.mean(new int[] {0})).square().sum(new int[] {-1}).toFloatArray();
        float[] sumSq = flatIn.square().sum(new int[] {-1}).toFloatArray();
        float[] l0 = acts.gt(0f).toType(DataType.FLOAT32, false).sum(new int[] {-1}).toFloatArray();
        float[] l1 = acts.sum(new int[] {-1}).toFloatArray();
        // SAELens concatenates the per-dimension means of x² and averages them into one number before squaring.
        double meanSquare = flatIn.square().mean().getFloat();

        double batchOutSq = 0;
        double batchDot = 0;
        double batchRss = 0;
        double batchSumSq = 0;
        for (int t = 0; t < n; t++) {
            sumIn += normIn[t];
            sumOut += normOut[t];
            sumRatio += normOut[t] / (Math.abs(normIn[t]) < 1e-4 ? 1.0 : normIn[t]);
            sumLegacy += 1 - rss[t] / (double) spread[t];
            sumCos += dot[t] / ((double) normIn[t] * normOut[t]);
            sumMse += rss[t] / (double) n;
            sumL0 += l0[t];
            sumL1 += l1[t];
            batchOutSq += (double) normOut[t] * normOut[t];
            batchDot += dot[t];
            batchRss += rss[t];
            batchSumSq += sumSq[t];
        }
        tokens += n;
        batches++;
        sumBias += (batchOutSq / n) / (batchDot / n);
        sumMeanSumSq += batchSumSq / n;
        sumMeanSquare += meanSquare;
        sumMeanRss += batchRss / n;
    }

    SaeEvaluation.ReconstructionQuality reconstructionQuality() {
        double meanSquare = sumMeanSquare / batches;
        double totalVariance = sumMeanSumSq / batches - meanSquare * meanSquare;
        return new SaeEvaluation.ReconstructionQuality(1 - (sumMeanRss / batches) / totalVariance, sumLegacy / tokens,
                sumMse / tokens, sumCos / tokens);
    }

    SaeEvaluation.Shrinkage shrinkage() {
        return new SaeEvaluation.Shrinkage(sumIn / tokens, sumOut / tokens, sumRatio / tokens, sumBias / batches);
    }

    SaeEvaluation.Sparsity sparsity() {
        return new SaeEvaluation.Sparsity(sumL0 / tokens, sumL1 / tokens);
    }

    /** feature_density [d_sae] = active tokens / kept tokens. */
    float[] featureDensity() {
        float[] density = new float[activeTokens.length];
        for (int f = 0; f < density.length; f++) {
            density[f] = (float) (activeTokens[f] / tokens);
        }
        return density;
    }

    /** consistent_activation_heuristic [d_sae] = active tokens / prompts with one (NaN for a feature active nowhere). */
    float[] consistentActivationHeuristic() {
        float[] heuristic = new float[activeTokens.length];
        for (int f = 0; f < heuristic.length; f++) {
            heuristic[f] = (float) (activeTokens[f] / activePrompts[f]);
        }
        return heuristic;
    }
}
