package dev.loupe.sae.analysis;

import ai.djl.ndarray.NDArray;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.Metric;
import dev.loupe.sae.Sae;
import dev.loupe.sae.splice.SaeRuns;
import java.util.List;

/**
 * Attribution of a scalar metric of the logits to SAE features, as attribution patching does it for activations:
 * one forward pass with the SAEs spliced in <em>with the error term</em> (so the logits are the clean model's) and
 * one backward pass give, for every feature f at every (batch, pos),
 * {@code attribution = d metric / d acts_post · acts_post}, the first-order estimate of the metric's change when
 * that feature is zero-ablated there (the change is about −attribution). The gradient flows from the logits back
 * to each SAE's {@code hook_sae_acts_post} through the decoder; the error term is a constant of the pass (SAELens
 * computes it under {@code no_grad}), so with several SAEs an earlier SAE's gradient reaches the logits only through
 * the later SAEs' reconstructions, while the last SAE's attribution is the same as if it were alone.
 * Owns its arrays: close it.
 *
 * <pre>{@code
 * Metric logitDiff = logits -> logits.get("0, -1, 5").sub(logits.get("0, -1, 9"));
 * try (FeatureAttribution attribution = FeatureAttribution.of(model, tokens, List.of(sae), logitDiff)) {
 *     NDArray perFeature = attribution.attribution(sae);                   // [batch, pos, d_sae]
 * }
 * }</pre>
 */
public final class FeatureAttribution implements AutoCloseable {
    private final List<Sae> saes;
    private final ActivationCache cache;
    private final double metricValue;

    private FeatureAttribution(List<Sae> saes, ActivationCache cache, double metricValue) {
        this.saes = saes;
        this.cache = cache;
        this.metricValue = metricValue;
    }

    /**
     * @param tokens int64 [batch, pos]
     * @param saes the SAEs whose features are attributed (at least one)
     * @param metric a scalar of the logits [batch, pos, d_vocab] (see {@link Metric} for multiplying by numbers)
     */
    public static FeatureAttribution of(HookedTransformer model, NDArray tokens, List<Sae> saes, Metric metric) {
        return of(model, tokens, saes, metric, List.of());
    }

    /**
     * The same with {@code hooks} attached (for instance an ablation of one feature, to see the gradients there);
     * the activations and gradients are those the hooks leave.
     */
    public static FeatureAttribution of(HookedTransformer model, NDArray tokens, List<Sae> saes, Metric metric,
            List<HookSpec> hooks) {
        if (saes.isEmpty()) {
            throw new LoupeException("Feature attribution needs at least one SAE");
        }
        List<String> names = saes.stream().map(FeatureActivations::actsPostName).toList();
        CacheOptions options = CacheOptions.filtered(names::contains).withGradients()
                .withForward(ForwardOptions.builder().metric(metric).build());
        ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, options, saes, true, hooks);
        try {
            return new FeatureAttribution(List.copyOf(saes), cache, metric.apply(cache.logits()).getFloat());
        } catch (RuntimeException e) {
            cache.close();
            throw e;
        }
    }

    /** The metric's value on the run (= on the clean model, up to the error term's rounding). */
    public double metricValue() {
        return metricValue;
    }

    /** The feature activations of {@code sae} [batch, pos, d_sae]. */
    public NDArray activations(Sae sae) {
        return cache.get(name(sae));
    }

    /** d metric / d acts_post [batch, pos, d_sae]. */
    public NDArray gradient(Sae sae) {
        return cache.get(name(sae) + "_grad");
    }

    /** gradient · activation [batch, pos, d_sae] (a new array owned by this object). */
    public NDArray attribution(Sae sae) {
        return gradient(sae).mul(activations(sae));
    }

    /** The {@code k} features with the largest attribution at ({@code batch}, {@code pos}), largest first. */
    public List<TopFeature> topFeatures(Sae sae, int batch, int pos, int k) {
        return TopFeature.of(attribution(sae), batch, pos, k);
    }

    private String name(Sae sae) {
        if (!saes.contains(sae)) {
            throw new LoupeException("This SAE was not spliced into the run; the run's SAEs read "
                    + saes.stream().map(Sae::hookName).toList());
        }
        return FeatureActivations.actsPostName(sae);
    }

    @Override
    public void close() {
        cache.close();
    }
}
