package dev.loupe.sae.features;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.hook.ActName;
import dev.loupe.hook.HookPoint;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The tokens a feature's decoder direction pushes up and down when read straight out through the unembedding:
 * W_dec[f]·W_U (no final norm, no b_U, as SAELens's dashboards compute a feature's logit weights). A hook_z SAE's
 * direction [n_heads·d_head] is first taken to the residual stream through its layer's W_O.
 *
 * @param feature the feature
 * @param promotedTokens [n] the tokens with the largest values, largest first (ties: lower id first)
 * @param promoted [n] their values
 * @param suppressedTokens [n] the tokens with the smallest values, smallest first (ties: lower id first)
 * @param suppressed [n] their values
 */
public record FeatureLogits(int feature, long[] promotedTokens, float[] promoted, long[] suppressedTokens,
        float[] suppressed) {
    /** Vocabulary columns of W_U widened to float32 at a time. */
    private static final int COLUMNS = 8192;

    public FeatureLogits {
        promotedTokens = promotedTokens.clone();
        promoted = promoted.clone();
        suppressedTokens = suppressedTokens.clone();
        suppressed = suppressed.clone();
    }

    @Override
    public long[] promotedTokens() {
        return promotedTokens.clone();
    }

    @Override
    public float[] promoted() {
        return promoted.clone();
    }

    @Override
    public long[] suppressedTokens() {
        return suppressedTokens.clone();
    }

    @Override
    public float[] suppressed() {
        return suppressed.clone();
    }

    /**
     * The {@code n} most promoted and suppressed tokens of each of {@code features}, in their order.
     *
     * @throws LoupeException if the SAE's output is not in the residual stream (nor hook_z), or n &lt; 1
     */
    public static List<FeatureLogits> of(HookedTransformer model, Sae sae, int[] features, int n) {
        if (n < 1) {
            throw new LoupeException("Ask for at least one promoted and suppressed token, got " + n);
        }
        int dSae = sae.cfg().dSae();
        for (int f : features) {
            if (f < 0 || f >= dSae) {
                throw new LoupeException("Feature " + f + " does not exist: the SAE has features 0 to " + (dSae - 1));
            }
        }
        NDArray wU = model.stateDict().get("unembed.W_U"); // [d_model, d_vocab_out]
        int vocab = (int) wU.getShape().get(1);
        int keep = Math.min(n, vocab);
        List<FeatureLogits> result = new ArrayList<>();
        if (features.length == 0) {
            return result;
        }
        try (NDManager scratch = NDManager.newBaseManager()) {
            NDArray rows = scratch.create(Arrays.stream(features).asLongStream().toArray());
            NDArray directions = residualDirections(model, sae, sae.wDec().get(scratch, new NDIndex("{}", rows)), scratch);
            TopTokens[] top = new TopTokens[features.length];
            for (int i = 0; i < features.length; i++) {
                top[i] = new TopTokens(keep);
            }
            for (int start = 0; start < vocab; start += COLUMNS) {
                int end = Math.min(vocab, start + COLUMNS);
                try (NDManager slice = scratch.newSubManager()) {
                    NDArray columns = wU.get(slice, new NDIndex(":, {}:{}", start, end)).toType(DataType.FLOAT32, false);
                    float[] values;
                    try (NDArray product = directions.matMul(columns)) { // [features, end - start]
                        values = product.toFloatArray();
                    }
                    int width = end - start;
                    for (int i = 0; i < features.length; i++) {
                        for (int c = 0; c < width; c++) {
                            top[i].offer(start + c, values[i * width + c]);
                        }
                    }
                }
            }
            for (int i = 0; i < features.length; i++) {
                result.add(top[i].logits(features[i]));
            }
        }
        return result;
    }

    /** Whether the SAE's decoder directions can be read out: it writes the residual stream (d_out = d_model) or hook_z. */
    public static boolean readable(HookedTransformer model, Sae sae) {
        return sae.cfg().reshapeHookZ() || sae.wDec().getShape().get(1) == model.config().dModel();
    }

    /** Decoder rows [F, d_out] as residual-stream directions [F, d_model] (float32). */
    private static NDArray residualDirections(HookedTransformer model, Sae sae, NDArray decoder, NDManager manager) {
        int dModel = model.config().dModel();
        NDArray rows = decoder.toType(DataType.FLOAT32, false);
        if (sae.cfg().reshapeHookZ()) {
            int layer = new HookPoint(sae.hookName()).layer();
            NDArray wO = model.stateDict().get(ActName.block(layer, "attn.W_O")); // [n_heads, d_head, d_model]
            NDArray flat = wO.get(manager, new NDIndex()).toType(DataType.FLOAT32, false).reshape(-1, dModel);
            return rows.matMul(flat);
        }
        if (rows.getShape().get(1) != dModel) {
            throw new LoupeException("The SAE writes " + rows.getShape().get(1) + "-wide activations at "
                    + (sae.isTranscoder() ? sae.cfg().hookNameOut() : sae.hookName()) + ", not the residual stream"
                    + " (d_model " + dModel + ") nor hook_z, so its decoder directions have no logits to read");
        }
        return rows;
    }
}
