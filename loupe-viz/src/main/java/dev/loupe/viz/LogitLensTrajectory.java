package dev.loupe.viz;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The logit lens as a {@link TrajectoryData}: each layer's residual stream at every position read out
 * through the final norm and the unembedding, as if the model stopped there.
 *
 * <p>Row {@code l < n_layers} reads {@code blocks.l.hook_resid_pre} (row 0 is the embeddings); the
 * last row reads {@code blocks.<n_layers-1>.hook_resid_post}, so it is the model's own output and its
 * KL to the final distribution is 0.
 */
public final class LogitLensTrajectory {
    /** The lens's name in views. */
    public static final String LENS = "logit lens";

    private LogitLensTrajectory() {}

    /** The residual stream hooks the lens reads: cache them with these options. */
    public static CacheOptions cacheOptions() {
        return CacheOptions.matching("blocks\\.\\d+\\.hook_resid_(pre|post)");
    }

    /**
     * Runs the model on one sequence of token ids and computes the lens at every position.
     *
     * @param ids the token ids [pos]
     * @param topK how many top tokens each cell keeps
     */
    public static TrajectoryData run(HookedTransformer model, long[] ids, int topK) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, ids.length);
            try (ActivationCache cache = model.runWithCache(tokens, cacheOptions())) {
                return compute(model, cache, 0, TokenText.labels(model, ids), topK);
            }
        }
    }

    /**
     * Computes the lens from a cache holding every {@code hook_resid_pre} and the last
     * {@code hook_resid_post} ({@link #cacheOptions()}).
     *
     * @param batch which sequence of the cache's batch
     * @param tokens that sequence's token labels
     * @param topK how many top tokens each cell keeps
     */
    public static TrajectoryData compute(HookedTransformer model, ActivationCache cache, int batch,
            List<String> tokens, int topK) {
        int nLayers = model.config().nLayers();
        if (nLayers < 1) {
            throw new LoupeException("The logit lens needs a model with at least one block");
        }
        if (topK < 1) {
            throw new IllegalArgumentException("topK must be at least 1, got " + topK);
        }
        NDArray unembed = model.stateDict().get("unembed.W_U"); // [d_model, d_vocab]
        if (unembed == null) {
            throw new LoupeException("The model's state dict has no unembed.W_U; the logit lens needs it");
        }
        List<String> missing = new ArrayList<>();
        for (int layer = 0; layer <= nLayers; layer++) {
            if (!cache.containsKey(hookFor(layer, nLayers))) {
                missing.add(hookFor(layer, nLayers));
            }
        }
        if (!missing.isEmpty()) {
            throw new LoupeException("The cache lacks " + String.join(", ", missing) + "; cache the residual stream"
                    + " with LogitLensTrajectory.cacheOptions()");
        }
        NDArray bias = model.stateDict().get("unembed.b_U"); // [d_vocab] or absent
        int k = (int) Math.min(topK, unembed.getShape().get(1));
        List<String> layers = new ArrayList<>();
        List<List<TrajectoryData.Cell>> rows = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            // The output first: every layer's KL needs it. Each layer's [pos, d_vocab] arrays are freed
            // before the next, so memory stays at two of them however deep the model.
            NDArray finalLogProbs = logProbs(model, cache, nLayers, batch, tokens.size(), unembed, bias, manager);
            NDArray finalProbs = finalLogProbs.exp();
            for (int layer = 0; layer <= nLayers; layer++) {
                try (NDManager pass = manager.newSubManager()) {
                    NDArray lp = layer == nLayers ? finalLogProbs
                            : logProbs(model, cache, layer, batch, tokens.size(), unembed, bias, pass);
                    float[] entropy = lp.exp().mul(lp).sum(new int[] {-1}).neg().toFloatArray();           // [pos]
                    float[] kl = finalProbs.mul(finalLogProbs.sub(lp)).sum(new int[] {-1}).toFloatArray(); // [pos]
                    NDList top = lp.topK(k, -1, true, true);
                    float[] topProbs = top.get(0).exp().toFloatArray(); // [pos, k]
                    long[] topIds = top.get(1).toLongArray();           // [pos, k]
                    top.close();
                    List<String> labels = TokenText.labels(model, topIds);
                    List<TrajectoryData.Cell> row = new ArrayList<>();
                    for (int p = 0; p < tokens.size(); p++) {
                        float[] probs = Arrays.copyOfRange(topProbs, p * k, (p + 1) * k);
                        // Rounding can give a tiny negative KL where the distributions agree.
                        row.add(new TrajectoryData.Cell(labels.subList(p * k, (p + 1) * k), probs, entropy[p],
                                Math.max(0f, kl[p])));
                    }
                    rows.add(row);
                    layers.add(layer < nLayers ? "layer " + layer : "output");
                }
            }
        }
        return new TrajectoryData(LENS, tokens, layers, rows);
    }

    /** The residual stream hook row {@code layer} reads (0..n_layers). */
    static String hookFor(int layer, int nLayers) {
        return layer < nLayers ? "blocks." + layer + ".hook_resid_pre" : "blocks." + (nLayers - 1) + ".hook_resid_post";
    }

    /**
     * The lens's log-probabilities at one layer (n_layers: the output), [pos, d_vocab], made in
     * {@code manager}.
     */
    private static NDArray logProbs(HookedTransformer model, ActivationCache cache, int layer, int batch, int pos,
            NDArray unembed, NDArray bias, NDManager manager) {
        String hook = hookFor(layer, model.config().nLayers());
        // Copied into this manager (activation first), so every op below stays here.
        NDArray resid = cache.get(hook).get(manager, new NDIndex(batch)) // [pos, d_model]
                .toType(DataType.FLOAT32, false).expandDims(0);       // [1, pos, d_model]
        if (resid.getShape().get(1) != pos) {
            throw new LoupeException(hook + " has " + resid.getShape().get(1) + " positions but " + pos
                    + " token labels were given");
        }
        NDArray logits = model.applyFinalNorm(resid).matMul(unembed); // [1, pos, d_vocab]
        if (bias != null) {
            logits = logits.add(bias);
        }
        return logits.squeeze(0).logSoftmax(-1);
    }
}
