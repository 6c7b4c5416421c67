package dev.loupe.sae.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.sae.Sae;
import dev.loupe.sae.splice.ModelCompatibility;
import dev.loupe.sae.splice.SaeRuns;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SAELens's {@code run_evals} (6.18, {@code get_eval_everything_config}) of one SAE on batches of tokens, the
 * scalar metrics grouped and named as SAELens names them ({@link #asMap()}). x is the clean activation at the
 * SAE's hook (hook_z flattened to [.., n_heads·d_head]), x̂ = the SAE's de-normalised {@code decode(encode(x))},
 * means are over the kept tokens (all of them, unless {@link SaeEvalOptions#excludedTokens()} names some: SAELens's
 * {@code exclude_special_tokens}) of one batch, or of several pooled as {@link SaeEvalOptions} says:
 * <ul>
 * <li>{@code sparsity}: l0 = mean #(acts &gt; 0), l1 = mean Σ acts.</li>
 * <li>{@code reconstruction_quality}: explained_variance = 1 − mean Σ(x − x̂)² / (mean Σx² − m²) with m the mean
 *     of x² over tokens <em>and</em> dimensions (SAELens's {@code total_variance}, as its code computes it);
 *     explained_variance_legacy = mean [1 − Σ(x − x̂)² / Σ(x − mean x)²]; mse = mean [Σ(x − x̂)² / N] with N the
 *     token count (SAELens divides by N before averaging, so this is Σ_t Σ(x − x̂)² / N²); cossim = mean cos(x, x̂).</li>
 * <li>{@code shrinkage}: l2_norm_in = mean ‖x‖, l2_norm_out = mean ‖x̂‖, l2_ratio = mean ‖x̂‖/‖x‖ (‖x‖ &lt; 1e-4
 *     counted as 1), relative_reconstruction_bias = mean ‖x̂‖² / mean x·x̂.</li>
 * <li>{@code model_performance_preservation}: the mean next-token loss (natural log, positions 0..T−2) of the clean
 *     model, with the SAE spliced in without the error term (the model goes on with x̂) and with the activation
 *     zeroed; ce_loss_score = (CE_ablation − CE_sae) / (CE_ablation − CE_clean).</li>
 * <li>{@code model_behavior_preservation}: mean KL(clean ‖ run) = Σ_v p_clean (log p_clean − log p_run) over every
 *     position, for the SAE run and the ablation; kl_div_score = (KL_ablation − KL_sae) / KL_ablation.</li>
 * </ul>
 * SAELens averages relative_reconstruction_bias and the parts of explained_variance per batch of prompts, and mse
 * divides each token by its own batch's token count; {@link #evaluate(HookedTransformer, Sae, NDArray)} treats
 * {@code tokens} as one batch, as {@code run_evals} does with {@code batch_size_prompts} = the batch.
 * The per-feature outputs of {@code run_evals} (its second result) are {@link #features()}.
 *
 * <p>Transcoders are refused: SAELens's {@code run_evals} would splice a transcoder at its input hook and score its
 * output against its input (it has no notion of {@code hook_name_out}), which measures nothing meaningful, and the
 * SAELens fixtures record no evaluation for them.
 *
 * @param modelBehaviorPreservation KL divergences
 * @param modelPerformancePreservation cross-entropy losses
 * @param reconstructionQuality explained variance, mse, cosine similarity
 * @param shrinkage norms of x and x̂
 * @param sparsity l0 and l1 of the feature activations
 * @param tokenStats how many tokens each part saw
 * @param features the per-feature metrics
 */
public record SaeEvaluation(ModelBehaviorPreservation modelBehaviorPreservation,
        ModelPerformancePreservation modelPerformancePreservation, ReconstructionQuality reconstructionQuality,
        Shrinkage shrinkage, Sparsity sparsity, TokenStats tokenStats, Features features) {

    /** SAELens's {@code model_behavior_preservation}. */
    public record ModelBehaviorPreservation(double klDivScore, double klDivWithAblation, double klDivWithSae) {}

    /** SAELens's {@code model_performance_preservation}. */
    public record ModelPerformancePreservation(double ceLossScore, double ceLossWithAblation, double ceLossWithSae,
            double ceLossWithoutSae) {}

    /** SAELens's {@code reconstruction_quality}. */
    public record ReconstructionQuality(double explainedVariance, double explainedVarianceLegacy, double mse,
            double cossim) {}

    /** SAELens's {@code shrinkage}. */
    public record Shrinkage(double l2NormIn, double l2NormOut, double l2Ratio, double relativeReconstructionBias) {}

    /** SAELens's {@code sparsity}. */
    public record Sparsity(double l0, double l1) {}

    /** SAELens's {@code token_stats}. */
    public record TokenStats(long totalTokensEvalReconstruction, long totalTokensEvalSparsityVariance) {}

    /**
     * SAELens's per-feature metrics, each [d_sae] (the arrays are the record's own; do not change them).
     *
     * @param featureDensity {@code feature_density}: the fraction of tokens on which the feature is active (&gt; 0)
     * @param consistentActivationHeuristic {@code consistent_activation_heuristic}: the tokens it is active on
     *     divided by the prompts (rows of the batch) it is active in at all; NaN for a feature active nowhere
     * @param encoderNorm {@code encoder_norm}: ‖W_enc[:, f]‖ (gated: the gate's encoder)
     * @param encoderDecoderCosineSim {@code encoder_decoder_cosine_sim}: cos(W_enc[:, f], W_dec[f])
     * @param encoderBias {@code encoder_bias}: b_enc, or null for an SAE without one (gated)
     */
    public record Features(float[] featureDensity, float[] consistentActivationHeuristic, float[] encoderNorm,
            float[] encoderDecoderCosineSim, float[] encoderBias) {}

    /**
     * Evaluates {@code sae} on {@code model} over int64 {@code tokens} [batch, pos] (pos ≥ 2) as one batch, used as
     * given (no BOS added), no token excluded. Three forward passes: clean, with the SAE spliced in, with the
     * activation zeroed.
     *
     * @throws LoupeException for a transcoder, an SAE without {@code hook_name}, or one that does not fit the model
     */
    public static SaeEvaluation evaluate(HookedTransformer model, Sae sae, NDArray tokens) {
        Shape shape = tokens.getShape();
        int rows = shape.dimension() == 2 ? (int) shape.get(0) : 1;
        return evaluate(model, sae, tokens, SaeEvalOptions.of(Math.max(rows, 1), 1));
    }

    /**
     * Evaluates {@code sae} over the batches {@code options} cuts from {@code tokens} [n_prompts, pos] (pos ≥ 2),
     * averaging as SAELens does: CE and KL per token over every reconstruction batch's kept tokens (CE's last
     * position has no target; a position counts if its own token is kept), the rest as {@link SparsityVarianceBatches}.
     *
     * @throws LoupeException as {@link #evaluate(HookedTransformer, Sae, NDArray)}, or if {@code tokens} has fewer
     *     rows than the batches need
     */
    public static SaeEvaluation evaluate(HookedTransformer model, Sae sae, NDArray tokens, SaeEvalOptions options) {
        if (sae.isTranscoder()) {
            throw new LoupeException("SaeEvaluation evaluates SAEs, not transcoders: SAELens's run_evals would score a "
                    + "transcoder's output against its input");
        }
        Shape shape = tokens.getShape();
        if (shape.dimension() != 2 || shape.get(1) < 2) {
            throw new LoupeException("SaeEvaluation takes tokens [batch, pos] with pos ≥ 2, got " + shape);
        }
        if (shape.get(0) < options.promptsNeeded()) {
            throw new LoupeException("The evaluation needs " + options.promptsNeeded() + " prompts (batch size "
                    + options.batchSizePrompts() + " × " + Math.max(options.nEvalReconstructionBatches(),
                    options.nEvalSparsityVarianceBatches()) + " batches) but the tokens have " + shape.get(0)
                    + "; give more rows or ask for fewer or smaller batches");
        }
        ModelCompatibility.check(model, sae);
        String hook = sae.hookPoint();
        int prompts = options.batchSizePrompts();
        int pos = (int) shape.get(1);
        // SAELens's replacement hook for hook_z SAEs (all heads) keeps no token clean; the others keep excluded ones.
        boolean maskedReplacement = !options.excludedTokens().isEmpty() && !sae.cfg().reshapeHookZ();
        double[] sums = new double[5]; // CE clean, sae, ablation; KL sae, ablation
        long ceTokens = 0;
        long klTokens = 0;
        SparsityVarianceBatches stats = new SparsityVarianceBatches(sae);
        int batches = Math.max(options.nEvalReconstructionBatches(), options.nEvalSparsityVarianceBatches());
        // Every array of the runs belongs to the tokens' manager: run on copies in a manager of our own and free it all.
        for (int b = 0; b < batches; b++) {
            try (NDManager scratch = tokens.getManager().newSubManager()) {
                NDArray input = tokens.get(new NDIndex("{}:{}", b * prompts, (b + 1) * prompts));
                input.attach(scratch);
                boolean[] keep = keep(input.toType(DataType.INT64, false).toLongArray(), options);
                ForwardOptions both = ForwardOptions.builder().returnType(ReturnType.BOTH).lossPerToken(true).build();
                NDArray x;
                NDArray cleanLogits;
                NDArray cleanLoss;
                try (ActivationCache cache = model.runWithCache(input,
                        CacheOptions.filtered(hook::equals).withForward(both))) {
                    if (!cache.containsKey(hook)) {
                        throw new LoupeException("The model has no hook point " + hook + " for the SAE");
                    }
                    x = keep(cache.get(hook), scratch);
                    cleanLogits = keep(cache.logits(), scratch);
                    cleanLoss = keep(cache.loss(), scratch);
                }
                if (b < options.nEvalReconstructionBatches()) {
                    NDArray mask = scratch.create(keep).reshape(prompts, pos, 1);
                    ModelOutput spliced = maskedReplacement
                            ? model.runWithHooks(input, both, List.of(HookSpec.forward(hook,
                                    (a, p) -> NDArrays.where(mask.broadcast(a.getShape()), sae.forward(a), a))))
                            : SaeRuns.runWithSaes(model, input, both, List.of(sae), false);
                    // SAELens's standard_zero_ablate_hook: the whole activation (every head of hook_z) set to 0.
                    ModelOutput ablated = model.runWithHooks(input, both,
                            List.of(HookSpec.forward(hook, (a, p) -> a.zerosLike())));
                    ceTokens += addKept(sums, 0, new NDArray[] {cleanLoss, spliced.loss(), ablated.loss()}, keep, pos);
                    klTokens += addKept(sums, 3, new NDArray[] {kl(cleanLogits, spliced.logits()),
                        kl(cleanLogits, ablated.logits())}, keep, pos);
                }
                if (b < options.nEvalSparsityVarianceBatches()) {
                    stats.add(x, keep, prompts, scratch);
                }
            }
        }
        double ceClean = sums[0] / ceTokens;
        double ceSae = sums[1] / ceTokens;
        double ceAblation = sums[2] / ceTokens;
        double klSae = sums[3] / klTokens;
        double klAblation = sums[4] / klTokens;

        NDManager weights = sae.wEnc().getManager();
        Features features;
        try (NDManager scratch = weights.newSubManager()) {
            NDArray wEnc = keep(sae.wEnc(), scratch); // copies, so that what is computed from them is freed with scratch
            NDArray wDec = keep(sae.wDec(), scratch);
            NDArray encoderNorm = wEnc.norm(new int[] {0});
            NDArray cosine = wEnc.transpose().mul(wDec).sum(new int[] {-1}).div(encoderNorm.mul(wDec.norm(new int[] {-1})));
            features = new Features(stats.featureDensity(), stats.consistentActivationHeuristic(),
                    encoderNorm.toFloatArray(), cosine.toFloatArray(),
                    sae.tensors().containsKey("b_enc") ? sae.tensor("b_enc").toFloatArray() : null);
        }
        long tokensPerBatch = (long) prompts * pos;
        return new SaeEvaluation(
                new ModelBehaviorPreservation((klAblation - klSae) / klAblation, klAblation, klSae),
                new ModelPerformancePreservation((ceAblation - ceSae) / (ceAblation - ceClean), ceAblation, ceSae, ceClean),
                stats.reconstructionQuality(), stats.shrinkage(), stats.sparsity(),
                new TokenStats(tokensPerBatch * options.nEvalReconstructionBatches(),
                        tokensPerBatch * options.nEvalSparsityVarianceBatches()), features);
    }

    /** Whether each token [prompts·pos] counts. */
    private static boolean[] keep(long[] ids, SaeEvalOptions options) {
        boolean[] keep = new boolean[ids.length];
        for (int t = 0; t < ids.length; t++) {
            keep[t] = !options.excludedTokens().contains(ids[t]);
        }
        return keep;
    }

    /**
     * Adds each array's kept values (per token, [prompts, width] with width pos or pos − 1: the token at (p, i) is
     * kept if keep[p·pos + i]) to sums[first + k]; returns how many were kept.
     */
    private static long addKept(double[] sums, int first, NDArray[] values, boolean[] keep, int pos) {
        long kept = 0;
        for (int k = 0; k < values.length; k++) {
            float[] v = values[k].toFloatArray();
            int width = (int) values[k].getShape().get(1);
            kept = 0;
            for (int i = 0; i < v.length; i++) {
                if (keep[(i / width) * pos + i % width]) {
                    sums[first + k] += v[i];
                    kept++;
                }
            }
        }
        return kept;
    }

    /**
     * The metrics by SAELens's group and metric names, in {@code run_evals}'s order
     * ({@code reconstruction_quality → explained_variance}, …).
     */
    public Map<String, Map<String, Double>> asMap() {
        Map<String, Map<String, Double>> map = new LinkedHashMap<>();
        map.put("model_behavior_preservation", ordered(
                "kl_div_score", modelBehaviorPreservation.klDivScore(),
                "kl_div_with_ablation", modelBehaviorPreservation.klDivWithAblation(),
                "kl_div_with_sae", modelBehaviorPreservation.klDivWithSae()));
        map.put("model_performance_preservation", ordered(
                "ce_loss_score", modelPerformancePreservation.ceLossScore(),
                "ce_loss_with_ablation", modelPerformancePreservation.ceLossWithAblation(),
                "ce_loss_with_sae", modelPerformancePreservation.ceLossWithSae(),
                "ce_loss_without_sae", modelPerformancePreservation.ceLossWithoutSae()));
        map.put("reconstruction_quality", ordered(
                "explained_variance", reconstructionQuality.explainedVariance(),
                "explained_variance_legacy", reconstructionQuality.explainedVarianceLegacy(),
                "mse", reconstructionQuality.mse(),
                "cossim", reconstructionQuality.cossim()));
        map.put("shrinkage", ordered(
                "l2_norm_in", shrinkage.l2NormIn(),
                "l2_norm_out", shrinkage.l2NormOut(),
                "l2_ratio", shrinkage.l2Ratio(),
                "relative_reconstruction_bias", shrinkage.relativeReconstructionBias()));
        map.put("sparsity", ordered("l0", sparsity.l0(), "l1", sparsity.l1()));
        map.put("token_stats", ordered(
                "total_tokens_eval_reconstruction", (double) tokenStats.totalTokensEvalReconstruction(),
                "total_tokens_eval_sparsity_variance", (double) tokenStats.totalTokensEvalSparsityVariance()));
        return map;
    }

    private static Map<String, Double> ordered(Object... namesAndValues) {
        Map<String, Double> group = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            group.put((String) namesAndValues[i], (Double) namesAndValues[i + 1]);
        }
        return group;
    }

    /** KL(clean ‖ run) per position [batch, pos]; p·(log p − log q) is 0 where p underflows to 0, as torch's kl_div. */
    private static NDArray kl(NDArray cleanLogits, NDArray logits) {
        NDArray logP = cleanLogits.logSoftmax(-1);
        return logP.exp().mul(logP.sub(logits.logSoftmax(-1))).sum(new int[] {-1});
    }

    private static NDArray keep(NDArray a, NDManager manager) {
        NDArray copy = a.duplicate();
        copy.attach(manager);
        return copy;
    }
}
