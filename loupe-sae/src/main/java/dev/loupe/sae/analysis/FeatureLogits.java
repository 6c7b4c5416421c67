package dev.loupe.sae.analysis;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.config.TransformerConfig;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A feature's direct logit attribution, as SAELens's tutorials compute it: its decoder direction W_dec[f]
 * [d_model] times the unembedding W_U [d_model, d_vocab_out], the logits [d_vocab_out] that one unit of the
 * feature adds by the direct path, and the tokens it promotes (largest) and suppresses (smallest). A hook_z SAE's
 * directions are taken through the layer's W_O first (W_dec[f] as [n_heads·d_head] · W_O as [n_heads·d_head,
 * d_model]), so that they live in the residual stream too.
 *
 * <p>Optionally divided by the final norm's scale ({@code ln_final.hook_scale}) at one position of a cached run,
 * as TransformerLens's {@code apply_ln_to_stack} does for a residual component: the linear part of the final
 * norm at that token. The norm's weight is not applied (in a model loaded with {@code fold_ln} it is already in
 * W_U; in an unprocessed one it is not, and the numbers are SAELens's tutorial's W_dec·W_U).
 */
public final class FeatureLogits {
    private static final Pattern HOOK_Z = Pattern.compile("blocks\\.(\\d+)\\.attn\\.hook_z");
    /** Vocabulary columns of W_U widened to float32 at a time. */
    private static final int COLUMNS = 8192;

    private final HookedTransformer model;
    private final Sae sae;
    private final float scale;

    private FeatureLogits(HookedTransformer model, Sae sae, float scale) {
        this.model = model;
        this.sae = sae;
        this.scale = scale;
    }

    /**
     * W_dec[f]·W_U, no norm.
     *
     * @throws LoupeException for an SAE whose output is not d_model wide (nor a hook_z SAE)
     */
    public static FeatureLogits of(HookedTransformer model, Sae sae) {
        TransformerConfig cfg = model.config();
        long width = sae.wDec().getShape().get(1);
        if (!readable(model, sae)) {
            throw new LoupeException("Direct logit attribution needs decoder directions in the residual stream (d_model "
                    + cfg.dModel() + ") or an attn.hook_z SAE; this SAE at " + sae.hookName() + " writes width " + width);
        }
        return new FeatureLogits(model, sae, 1f);
    }

    /** The same, divided by the final norm's scale at ({@code batch}, {@code pos}) of {@code cache}. */
    public static FeatureLogits throughFinalNorm(HookedTransformer model, Sae sae, ActivationCache cache, int batch,
            int pos) {
        String name = "ln_final.hook_scale";
        if (!cache.containsKey(name)) {
            throw new LoupeException("The cache has no " + name + " (the model has no final norm, or the cache's filter "
                    + "left it out); run with a cache that keeps it");
        }
        float scale = cache.get(name).get(batch, pos).toFloatArray()[0];
        return new FeatureLogits(model, of(model, sae).sae, scale);
    }

    /** The scale the logits are divided by (1 without the final norm). */
    public float scale() {
        return scale;
    }

    /**
     * Whether {@link #of} reads this SAE's directions: it writes the residual stream (d_model wide) or is an
     * attn.hook_z SAE.
     */
    public static boolean readable(HookedTransformer model, Sae sae) {
        TransformerConfig cfg = model.config();
        long width = sae.wDec().getShape().get(1);
        boolean hookZ = sae.cfg().reshapeHookZ() && !sae.isTranscoder();
        return hookZ ? width == (long) cfg.nHeads() * cfg.dHead() : width == cfg.dModel();
    }

    /** The decoder directions of {@code features} in the residual stream [n, d_model] (float32), in {@code manager}. */
    public NDArray directions(int[] features, NDManager manager) {
        int dSae = sae.cfg().dSae();
        for (int f : features) {
            if (f < 0 || f >= dSae) {
                throw new LoupeException("Feature " + f + " does not exist: the SAE has features 0 to " + (dSae - 1));
            }
        }
        try (NDManager scratch = manager.newSubManager()) {
            NDArray rows = sae.wDec().get(scratch, new NDIndex("{}", scratch.create(features).toType(DataType.INT64, false)));
            NDArray directions = residualDirections(rows.toType(DataType.FLOAT32, false), scratch); // [n, d_model]
            directions.attach(manager);
            return directions;
        }
    }

    /** The direct logits of {@code features} [n, d_vocab_out], in {@code manager}. */
    public NDArray logits(int[] features, NDManager manager) {
        try (NDManager scratch = manager.newSubManager()) {
            NDArray directions = directions(features, scratch);
            NDArray wU = model.stateDict().get("unembed.W_U");
            NDArray unembed = wU.get(scratch, new NDIndex(":, :{}", model.config().dVocabOut()))
                    .toType(DataType.FLOAT32, false);
            NDArray logits = directions.matMul(unembed).div(scale);
            logits.attach(manager);
            return logits;
        }
    }

    /**
     * The {@code n} most promoted and most suppressed tokens of each of {@code features}, in their order: the
     * vocabulary is read {@value #COLUMNS} columns of W_U at a time, so a 256,000-token unembedding is never widened
     * whole.
     *
     * @throws LoupeException if a feature does not exist or n &lt; 1
     */
    public List<FeatureTopTokens> topTokens(int[] features, int n) {
        if (n < 1) {
            throw new LoupeException("Ask for at least one promoted and suppressed token, got " + n);
        }
        List<FeatureTopTokens> result = new ArrayList<>();
        int vocab = model.config().dVocabOut();
        try (NDManager scratch = model.weightsManager().newSubManager()) {
            NDArray directions = directions(features, scratch).div(scale);
            if (features.length == 0) {
                return result;
            }
            TopTokens[] top = new TopTokens[features.length];
            for (int i = 0; i < features.length; i++) {
                top[i] = new TopTokens(Math.min(n, vocab));
            }
            NDArray wU = model.stateDict().get("unembed.W_U"); // [d_model, d_vocab_out (padded)]
            for (int start = 0; start < vocab; start += COLUMNS) {
                int end = Math.min(vocab, start + COLUMNS);
                try (NDManager slice = scratch.newSubManager()) {
                    NDArray columns = wU.get(slice, new NDIndex(":, {}:{}", start, end)).toType(DataType.FLOAT32, false);
                    float[] values = directions.matMul(columns).toFloatArray(); // [features, end - start]
                    int width = end - start;
                    for (int i = 0; i < features.length; i++) {
                        for (int c = 0; c < width; c++) {
                            top[i].offer(start + c, values[i * width + c]);
                        }
                    }
                }
            }
            for (int i = 0; i < features.length; i++) {
                result.add(top[i].result(features[i]));
            }
        }
        return result;
    }

    /** The direct logits of one feature [d_vocab_out], in {@code manager}. */
    public NDArray logits(int feature, NDManager manager) {
        NDArray row = logits(new int[] {feature}, manager);
        return row.reshape(row.getShape().get(1));
    }

    /** The {@code k} tokens {@code feature} promotes most, largest logit first (ties by token id). */
    public List<TokenLogit> promoted(int feature, int k) {
        return top(feature, k, 1);
    }

    /** The {@code k} tokens {@code feature} suppresses most, smallest logit first (ties by token id). */
    public List<TokenLogit> suppressed(int feature, int k) {
        return top(feature, k, -1);
    }

    private List<TokenLogit> top(int feature, int k, int sign) {
        if (k < 1) {
            throw new LoupeException("k must be at least 1, got " + k);
        }
        FeatureTopTokens top = topTokens(new int[] {feature}, k).get(0);
        long[] tokens = sign > 0 ? top.promotedTokens() : top.suppressedTokens();
        float[] values = sign > 0 ? top.promoted() : top.suppressed();
        List<TokenLogit> result = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            int t = (int) tokens[i];
            result.add(new TokenLogit(t, model.hasTokenizer() ? model.toSingleStrToken(t) : null, values[i]));
        }
        return List.copyOf(result);
    }

    /** Decoder rows [n, d_out] as residual-stream directions [n, d_model]. */
    private NDArray residualDirections(NDArray rows, NDManager scratch) {
        Matcher hookZ = HOOK_Z.matcher(sae.hookPoint());
        if (!sae.cfg().reshapeHookZ() || sae.isTranscoder()) {
            return rows;
        }
        if (!hookZ.matches()) {
            throw new LoupeException("A hook_z SAE at " + sae.hookName() + " does not name a layer's attn.hook_z, so Loupe"
                    + " cannot tell which W_O carries its directions to the residual stream");
        }
        TransformerConfig cfg = model.config();
        NDArray wO = model.stateDict().get("blocks." + hookZ.group(1) + ".attn.W_O"); // [n_heads, d_head, d_model]
        NDArray own = wO.duplicate(); // products of the weights would otherwise land in the model's manager
        own.attach(scratch);
        NDArray flat = own.toType(DataType.FLOAT32, false).reshape((long) cfg.nHeads() * cfg.dHead(), cfg.dModel());
        return rows.matMul(flat);
    }
}
