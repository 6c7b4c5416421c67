package dev.loupe.analysis.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.Metric;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Attribution patching: the first-order estimate of every activation patch at once. One forward and
 * one backward pass on the corrupted input give d(metric)/d(activation); one forward pass on the
 * clean input gives the clean activations; patching an activation (or any slice of it) from clean
 * into corrupted then changes the metric by about {@code (clean − corrupted) · gradient}, summed
 * over the patched elements.
 */
public final class AttributionPatching {
    private AttributionPatching() {}

    /**
     * @param cleanTokens int64 [batch, pos]
     * @param corruptedTokens int64 [batch, pos], the same shape
     * @param metric the scalar to attribute, from the corrupted run's logits
     * @param names which hook points to attribute
     * @param manager owner of the results
     * @return hook name → element-wise attribution {@code (clean − corrupted) · d metric / d corrupted},
     *     the activation's shape; sum it over the axes a patch would cover (e.g. d_model for a
     *     position of {@code resid_pre}, d_head for a head of {@code hook_z})
     */
    public static Map<String, NDArray> attribute(HookedTransformer model, NDArray cleanTokens, NDArray corruptedTokens,
            Metric metric, Predicate<String> names, NDManager manager) {
        Map<String, NDArray> attributions = new LinkedHashMap<>();
        CacheOptions selected = CacheOptions.filtered(names);
        try (ActivationCache clean = model.runWithCache(cleanTokens, selected);
             ActivationCache corrupted = model.runWithCache(corruptedTokens,
                     selected.withGradients().withForward(ForwardOptions.builder().metric(metric).build()))) {
            for (String name : clean.keys()) {
                NDArray difference = clean.get(name).sub(corrupted.get(name));
                NDArray attribution = difference.mul(corrupted.get(name + "_grad"));
                attribution.attach(manager);
                attributions.put(name, attribution);
            }
        }
        return attributions;
    }
}
