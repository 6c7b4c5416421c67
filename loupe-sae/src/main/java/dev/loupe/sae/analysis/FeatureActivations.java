package dev.loupe.sae.analysis;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.splice.SaeRuns;
import dev.loupe.sae.splice.SaeSplice;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The feature activations of a prompt: for each SAE, its {@code hook_sae_acts_post} [batch, pos, d_sae] in one run
 * of the model with every SAE spliced in, and the prompt's tokens as strings. Without the error term, SAEs at later
 * hook points see the reconstructions of earlier ones (SAELens's {@code run_with_cache_with_saes}); with it, every
 * SAE sees the clean model's activation. Owns its arrays: close it.
 *
 * <pre>{@code
 * try (FeatureActivations features = FeatureActivations.of(model, tokens, List.of(sae), true)) {
 *     NDArray acts = features.get(sae);                                  // [batch, pos, d_sae]
 *     List<TopFeature> top = features.topFeatures(sae, 0, 4, 10);         // the 10 strongest at (0, 4)
 * }
 * }</pre>
 */
public final class FeatureActivations implements AutoCloseable {
    private final List<Sae> saes;
    private final ActivationCache cache;
    private final List<List<String>> strTokens;
    private NDManager tokensManager; // the text's tokens, when this object made them

    private FeatureActivations(List<Sae> saes, ActivationCache cache, List<List<String>> strTokens) {
        this.saes = saes;
        this.cache = cache;
        this.strTokens = strTokens;
    }

    /**
     * @param tokens int64 [batch, pos]
     * @param saes the SAEs to splice in (at least one)
     * @param useErrorTerm whether the model runs with each SAE's error added (its output stays the clean one)
     */
    public static FeatureActivations of(HookedTransformer model, NDArray tokens, List<Sae> saes, boolean useErrorTerm) {
        if (saes.isEmpty()) {
            throw new LoupeException("Feature activations need at least one SAE");
        }
        if (tokens.getShape().dimension() != 2) {
            throw new LoupeException("Feature activations take tokens [batch, pos], got " + tokens.getShape()
                    + "; reshape one prompt to [1, pos]");
        }
        List<String> names = saes.stream().map(FeatureActivations::actsPostName).toList();
        ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, CacheOptions.filtered(names::contains), saes,
                useErrorTerm, List.of());
        return new FeatureActivations(List.copyOf(saes), cache, model.hasTokenizer() ? strTokens(model, tokens) : null);
    }

    /** The feature activations of {@code text} (tokenised as the model does by default: BOS if it prepends one). */
    public static FeatureActivations of(HookedTransformer model, String text, List<Sae> saes, boolean useErrorTerm,
            NDManager manager) {
        // The run's arrays live under the tokens' manager, so that manager lives as long as the result.
        NDManager own = manager.newSubManager();
        try {
            FeatureActivations result = of(model, model.toTokens(text, own), saes, useErrorTerm);
            result.tokensManager = own;
            return result;
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /** The name of an SAE's feature activations in a run it is spliced into ({@code H.hook_sae_acts_post}). */
    public static String actsPostName(Sae sae) {
        return new SaeSplice(sae, false).target() + "." + Sae.HOOK_ACTS_POST;
    }

    /** The SAEs, in the order given. */
    public List<Sae> saes() {
        return saes;
    }

    /** Each prompt's tokens as strings, [batch][pos]; null when the model has no tokenizer. */
    public List<List<String>> strTokens() {
        return strTokens;
    }

    /** The feature activations of {@code sae} [batch, pos, d_sae] (owned by this object). */
    public NDArray get(Sae sae) {
        if (!saes.contains(sae)) {
            throw new LoupeException("This SAE was not spliced into the run; the run's SAEs read "
                    + saes.stream().map(Sae::hookName).toList());
        }
        return cache.get(actsPostName(sae));
    }

    /** The {@code k} most active features of {@code sae} at ({@code batch}, {@code pos}), strongest first. */
    public List<TopFeature> topFeatures(Sae sae, int batch, int pos, int k) {
        return TopFeature.of(get(sae), batch, pos, k);
    }

    static List<List<String>> strTokens(HookedTransformer model, NDArray tokens) {
        long[] ids = tokens.toType(DataType.INT64, false).toLongArray();
        int width = (int) tokens.getShape().get(1);
        List<List<String>> rows = new ArrayList<>();
        for (int start = 0; start < ids.length; start += width) {
            rows.add(List.copyOf(model.toStrTokens(Arrays.copyOfRange(ids, start, start + width))));
        }
        return List.copyOf(rows);
    }

    @Override
    public void close() {
        cache.close();
        if (tokensManager != null) {
            tokensManager.close();
        }
    }
}
