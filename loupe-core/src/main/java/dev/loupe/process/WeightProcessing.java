package dev.loupe.process;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.loupe.LoupeException;
import dev.loupe.config.PositionalEmbeddingType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.config.WeightProcessingStep;
import dev.loupe.hook.ActName;
import dev.loupe.linalg.FactoredMatrix;
import dev.loupe.numeric.StateDict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * TransformerLens's weight processing, one pure function per step: each takes a state dict (and
 * config) and returns a new one, leaving its input untouched. New tensors belong to the manager of
 * the tensors they are computed from. The model's predictions are unchanged by every step (logits up
 * to a per-position constant for {@link #centerUnembed}).
 *
 * <p>Order as {@code from_pretrained}: fold LayerNorm, center writing weights, center unembed, fold
 * value biases (then re-centre {@code b_O}).
 *
 * <p>Mixture-of-experts models keep their norms: {@code fold_ln} is skipped for them (the norms stay
 * {@code RMS}/{@code LN} with their weights), the other steps apply. TransformerLens also skips the
 * fold but still switches the config to {@code RMSPre}, which silently drops every norm weight and
 * changes the predictions; Loupe does not copy that.
 */
public final class WeightProcessing {
    private WeightProcessing() {}

    /** Applies the steps {@code options} selects, in TransformerLens's order. */
    public static ProcessedWeights process(ProcessedWeights weights, ProcessOptions options) {
        TransformerConfig cfg = weights.config();
        boolean layerNorm = cfg.normalizationType().isLayerNorm();
        ProcessedWeights result = weights;
        List<WeightProcessingStep> applied = new ArrayList<>(cfg.weightProcessing());
        // A norm in front of the router and of every expert is not folded (see the class comment).
        if (options.foldLn() && cfg.normalizationType().hasWeights() && !cfg.mixtureOfExperts()) {
            result = foldLayerNorm(result, layerNorm, layerNorm);
            applied.add(WeightProcessingStep.FOLD_LN);
        }
        // Only where a centring norm reads everything written (norms after the sub-layers read W_O's and W_out's outputs first).
        if (options.centerWritingWeights() && layerNorm && !cfg.finalRms() && !cfg.hasPostNorms()) {
            result = new ProcessedWeights(centerWritingWeights(result.stateDict(), result.config()), result.config());
            applied.add(WeightProcessingStep.CENTER_WRITING_WEIGHTS);
        }
        // A soft-cap is not shift-invariant: centring the unembedding would change the capped logits'
        // softmax, so TransformerLens skips it there (and so do we).
        if (options.centerUnembed() && !cfg.softCapsOutputLogits()) {
            result = new ProcessedWeights(centerUnembed(result.stateDict()), result.config());
            applied.add(WeightProcessingStep.CENTER_UNEMBED);
        }
        if (options.foldValueBiases()) {
            Map<String, NDArray> folded = foldValueBiases(result.stateDict(), result.config());
            if (options.centerWritingWeights() && layerNorm) {
                folded = centerAttentionOutputBiases(folded, result.config());
            }
            result = new ProcessedWeights(folded, result.config());
            applied.add(WeightProcessingStep.FOLD_VALUE_BIASES);
        }
        if (options.refactorFactoredAttnMatrices()) {
            result = new ProcessedWeights(refactorFactoredAttnMatrices(result.stateDict(), result.config()), result.config());
            applied.add(WeightProcessingStep.REFACTOR_FACTORED_ATTN_MATRICES);
        }
        // Recorded so that what depends on the basis (a tuned lens, saved activations) can tell.
        return new ProcessedWeights(result.stateDict(), result.config().toBuilder().weightProcessing(applied).build());
    }

    /**
     * Re-factors each head's QK and OV circuits without changing them: {@code W_V = U·S},
     * {@code W_O = Vhᵀ} (a rotation, so z has the norm of the head's output) from the SVD of W_V·W_O,
     * and W_Q, W_K with equal column norms from the balanced SVD of the bias-augmented
     * [W_Q; b_Q]·[W_K; b_K]ᵀ. Value biases move into b_O first.
     *
     * @throws LoupeException for rotary models (the rotation sits between W_Q and W_K, so QK depends
     *     on positions) and grouped-query models (keys are shared between query heads)
     */
    public static Map<String, NDArray> refactorFactoredAttnMatrices(Map<String, NDArray> stateDict, TransformerConfig cfg) {
        if (cfg.positionalEmbeddingType() == PositionalEmbeddingType.ROTARY) {
            throw new LoupeException("refactorFactoredAttnMatrices cannot apply to a rotary model: the rotation sits"
                    + " between W_Q and W_K, so the QK circuit depends on the positions of query and key");
        }
        if (cfg.groupedQueryAttention()) {
            throw new LoupeException("refactorFactoredAttnMatrices cannot apply to grouped-query attention: one key head"
                    + " serves several query heads, so their QK circuits cannot be re-factored separately");
        }
        Map<String, NDArray> sd = foldValueBiases(stateDict, cfg);
        for (int l = 0; l < cfg.nLayers(); l++) {
            String wQ = ActName.block(l, "attn.W_Q");
            String bQ = ActName.block(l, "attn.b_Q");
            String wK = ActName.block(l, "attn.W_K");
            String bK = ActName.block(l, "attn.b_K");
            String wV = ActName.block(l, "attn.W_V");
            String wO = ActName.block(l, "attn.W_O");
            NDArray queries = augmented(sd.get(wQ), sd.get(bQ)); // [heads, d_model + 1, d_head]
            NDArray keys = augmented(sd.get(wK), sd.get(bK));
            FactoredMatrix even = new FactoredMatrix(queries, keys.transpose(0, 2, 1)).makeEven();
            NDArray evenKeys = even.B().transpose(0, 2, 1);
            sd.put(wQ, even.A().get(":, :-1, :"));
            sd.put(bQ, even.A().get(":, -1, :"));
            sd.put(wK, evenKeys.get(":, :-1, :"));
            sd.put(bK, evenKeys.get(":, -1, :"));
            try (FactoredMatrix ov = new FactoredMatrix(sd.get(wV), sd.get(wO))) {
                FactoredMatrix.Svd svd = ov.svd(); // U [heads, d_model, d_head], S [heads, d_head], Vh [heads, d_model, d_head]
                sd.put(wV, svd.U().mul(svd.S().expandDims(1)));
                sd.put(wO, svd.Vh().transpose(0, 2, 1).duplicate());
            }
        }
        return sd;
    }

    /** [W; b] along d_model: the weights of a d_model + 1 input whose last coordinate is always 1. */
    private static NDArray augmented(NDArray weight, NDArray bias) {
        return NDArrays.concat(new NDList(weight, bias.expandDims(1)), 1);
    }

    /**
     * Folds every norm's weight (and, with {@code foldBiases}, LayerNorm's bias) into the maps that
     * read from it: ln1 into W_Q/W_K/W_V and their biases, ln2 into W_in (and W_gate) and b_in,
     * ln_final into W_U and b_U; the norms lose their parameters (LN → LNPre, RMS → RMSPre). With
     * {@code centerWeights} the reading weights are then centred over d_model, which a centring norm
     * makes free. Norms after attention and the MLP ({@code ln1_post}, {@code ln2_post}) and the q/k
     * norms stay as they are: what reads them is not a linear map (the residual stream's next norm, the
     * per-head rotation), so they have nothing to fold into; models with only those (OLMo 2) fold ln_final.
     */
    public static ProcessedWeights foldLayerNorm(ProcessedWeights weights, boolean foldBiases, boolean centerWeights) {
        TransformerConfig cfg = weights.config();
        Map<String, NDArray> sd = StateDict.copyOf(weights.stateDict());
        String kv = cfg.groupedQueryAttention() ? "attn._" : "attn.";
        for (int l = 0; l < cfg.nLayers(); l++) {
            if (!cfg.hasPreNorms()) {
                continue;
            }
            NDArray w1 = sd.remove(ActName.block(l, "ln1.w"));
            NDArray b1 = sd.remove(ActName.block(l, "ln1.b"));
            String[][] projections = {{"attn.W_Q", "attn.b_Q"}, {kv + "W_K", kv + "b_K"}, {kv + "W_V", kv + "b_V"}};
            for (String[] projection : projections) {
                String wName = ActName.block(l, projection[0]);
                String bName = ActName.block(l, projection[1]);
                NDArray w = sd.get(wName); // [heads, d_model, d_head]
                if (foldBiases && b1 != null) {
                    sd.put(bName, sd.get(bName).add(w.mul(b1.reshape(1, -1, 1)).sum(new int[] {1})));
                }
                NDArray folded = w.mul(w1.reshape(1, -1, 1));
                sd.put(wName, centerWeights ? folded.sub(folded.mean(new int[] {1}, true)) : folded);
            }
            if (cfg.attnOnly()) {
                continue;
            }
            NDArray w2 = sd.remove(ActName.block(l, "ln2.w"));
            NDArray b2 = sd.remove(ActName.block(l, "ln2.b"));
            String wInName = ActName.block(l, "mlp.W_in");
            String bInName = ActName.block(l, "mlp.b_in");
            String wGateName = ActName.block(l, "mlp.W_gate");
            NDArray wIn = sd.get(wInName); // [d_model, d_mlp]
            if (foldBiases && b2 != null) {
                sd.put(bInName, sd.get(bInName).add(wIn.mul(b2.reshape(-1, 1)).sum(new int[] {0})));
            }
            NDArray foldedIn = wIn.mul(w2.reshape(-1, 1));
            sd.put(wInName, centerWeights ? foldedIn.sub(foldedIn.mean(new int[] {0}, true)) : foldedIn);
            if (cfg.gatedMlp()) {
                sd.put(wGateName, sd.get(wGateName).mul(w2.reshape(-1, 1)));
            }
        }
        NDArray wf = sd.remove("ln_final.w");
        NDArray bf = sd.remove("ln_final.b");
        NDArray wU = sd.get("unembed.W_U"); // [d_model, d_vocab_out]
        if (foldBiases && bf != null) {
            sd.put("unembed.b_U", sd.get("unembed.b_U").add(wU.mul(bf.reshape(-1, 1)).sum(new int[] {0})));
        }
        NDArray foldedU = wU.mul(wf.reshape(-1, 1));
        sd.put("unembed.W_U", centerWeights ? foldedU.sub(foldedU.mean(new int[] {0}, true)) : foldedU);
        return new ProcessedWeights(sd, cfg.toBuilder().normalizationType(cfg.normalizationType().withoutWeights()).build());
    }

    /**
     * Makes every weight that writes to the residual stream zero-mean over d_model: W_E, W_pos,
     * W_O, b_O, W_out, b_out (each expert's W_out in a mixture of experts). A LayerNorm removes the mean
     * anyway, so nothing downstream changes.
     */
    public static Map<String, NDArray> centerWritingWeights(Map<String, NDArray> stateDict, TransformerConfig cfg) {
        Map<String, NDArray> sd = StateDict.copyOf(stateDict);
        centerLastAxis(sd, "embed.W_E");
        if (sd.containsKey("pos_embed.W_pos")) {
            centerLastAxis(sd, "pos_embed.W_pos");
        }
        for (int l = 0; l < cfg.nLayers(); l++) {
            centerLastAxis(sd, ActName.block(l, "attn.W_O"));
            centerLastAxis(sd, ActName.block(l, "attn.b_O"));
            if (cfg.mixtureOfExperts()) {
                // Each expert writes W_out.weight [d_model, d_mlp] (nn.Linear layout): centre over d_model.
                for (int e = 0; e < cfg.numExperts(); e++) {
                    String wOut = ActName.block(l, "mlp.experts." + e + ".W_out.weight");
                    sd.put(wOut, sd.get(wOut).sub(sd.get(wOut).mean(new int[] {0}, true)));
                }
            } else if (!cfg.attnOnly()) {
                centerLastAxis(sd, ActName.block(l, "mlp.W_out"));
                centerLastAxis(sd, ActName.block(l, "mlp.b_out"));
            }
        }
        return sd;
    }

    /** Makes W_U and b_U zero-mean over the vocabulary: logits lose their per-position mean, log-probs are unchanged. */
    public static Map<String, NDArray> centerUnembed(Map<String, NDArray> stateDict) {
        Map<String, NDArray> sd = StateDict.copyOf(stateDict);
        centerLastAxis(sd, "unembed.W_U");
        centerLastAxis(sd, "unembed.b_U");
        return sd;
    }

    /**
     * Moves the value bias into the output bias: {@code b_O += Σ_h b_V[h] · W_O[h]}, {@code b_V = 0}.
     * The bias's contribution to each head's output is the same at every position, since the pattern
     * sums to 1, so the model computes the same thing.
     */
    public static Map<String, NDArray> foldValueBiases(Map<String, NDArray> stateDict, TransformerConfig cfg) {
        Map<String, NDArray> sd = StateDict.copyOf(stateDict);
        String kv = cfg.groupedQueryAttention() ? "attn._" : "attn.";
        for (int l = 0; l < cfg.nLayers(); l++) {
            NDArray bV = sd.get(ActName.block(l, kv + "b_V")); // [kv_heads, d_head]
            NDArray perHead = cfg.groupedQueryAttention() ? bV.repeat(0, cfg.nHeads() / cfg.kvHeads()) : bV;
            NDArray wO = sd.get(ActName.block(l, "attn.W_O")); // [heads, d_head, d_model]
            NDArray contribution = wO.mul(perHead.expandDims(-1)).sum(new int[] {0, 1}); // [d_model]
            String bO = ActName.block(l, "attn.b_O");
            sd.put(bO, sd.get(bO).add(contribution));
            sd.put(ActName.block(l, kv + "b_V"), bV.zerosLike());
        }
        return sd;
    }

    /** Re-centres every b_O over d_model, as TransformerLens does after folding value biases. */
    static Map<String, NDArray> centerAttentionOutputBiases(Map<String, NDArray> stateDict, TransformerConfig cfg) {
        Map<String, NDArray> sd = StateDict.copyOf(stateDict);
        for (int l = 0; l < cfg.nLayers(); l++) {
            centerLastAxis(sd, ActName.block(l, "attn.b_O"));
        }
        return sd;
    }

    private static void centerLastAxis(Map<String, NDArray> sd, String name) {
        NDArray value = sd.get(name);
        if (value == null) {
            throw new LoupeException("The state dict has no '" + name + "' to centre");
        }
        sd.put(name, value.sub(value.mean(new int[] {-1}, true)));
    }
}
