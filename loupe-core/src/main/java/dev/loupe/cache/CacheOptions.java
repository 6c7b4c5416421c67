package dev.loupe.cache;

import dev.loupe.run.ForwardOptions;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Options of {@code runWithCache}, as TransformerLens's keyword arguments.
 *
 * @param namesFilter which hook names to keep (all when null)
 * @param includeGradients also keep {@code <name>_grad}, the gradient of the run's metric
 *     (the mean loss unless {@code forward.metric()} says otherwise)
 * @param forward the options of the forward pass itself
 */
public record CacheOptions(Predicate<String> namesFilter, boolean includeGradients, ForwardOptions forward) {

    public CacheOptions {
        if (namesFilter == null) {
            namesFilter = name -> true;
        }
        if (forward == null) {
            forward = ForwardOptions.defaults();
        }
    }

    /** Every hook, no gradients, default forward options. */
    public static CacheOptions all() {
        return new CacheOptions(null, false, null);
    }

    /** The hooks whose whole name matches {@code regex}. */
    public static CacheOptions matching(String regex) {
        Pattern pattern = Pattern.compile(regex);
        return new CacheOptions(name -> pattern.matcher(name).matches(), false, null);
    }

    /** The hooks {@code filter} accepts. */
    public static CacheOptions filtered(Predicate<String> filter) {
        return new CacheOptions(filter, false, null);
    }

    /** The same with gradients. */
    public CacheOptions withGradients() {
        return new CacheOptions(namesFilter, true, forward);
    }

    /** The same with other forward options. */
    public CacheOptions withForward(ForwardOptions options) {
        return new CacheOptions(namesFilter, includeGradients, options);
    }
}
