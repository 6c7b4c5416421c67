package dev.loupe.sae.splice;

import ai.djl.ndarray.NDArray;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookScope;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.sae.Sae;
import java.util.List;

/**
 * SAELens's {@code HookedSAETransformer} runs on a {@code HookedTransformer}: SAEs spliced in for one run
 * ({@link #runWithSaes}, {@link #runWithCacheWithSaes}, {@link #runWithHooksWithSaes}) or for every run while
 * a scope is open ({@link #withSaes}). Each SAE replaces its hook point's activation ({@link SaeSplice}); SAEs
 * at later hook points see activations computed from earlier SAEs' outputs. Each is checked against the model
 * first ({@link ModelCompatibility}).
 *
 * <pre>{@code
 * NDArray logits = SaeRuns.runWithSaes(model, tokens, List.of(sae), false);
 * try (ActivationCache cache = SaeRuns.runWithCacheWithSaes(model, tokens, List.of(sae), true)) {
 *     NDArray acts = cache.get("blocks.0.hook_resid_pre.hook_sae_acts_post"); // [batch, pos, d_sae]
 * }
 * }</pre>
 */
public final class SaeRuns {
    private SaeRuns() {}

    /** Logits [batch, pos, d_vocab] with {@code saes} spliced in for this run. */
    public static NDArray runWithSaes(HookedTransformer model, NDArray tokens, List<Sae> saes, boolean useErrorTerm) {
        return runWithSaes(model, tokens, ForwardOptions.defaults(), saes, useErrorTerm).logits();
    }

    /** A forward pass with options and {@code saes} spliced in for this run. */
    public static ModelOutput runWithSaes(HookedTransformer model, NDArray input, ForwardOptions options, List<Sae> saes,
            boolean useErrorTerm) {
        return model.runWithHooks(input, options, List.of(), splices(model, saes, useErrorTerm));
    }

    /**
     * Logits with {@code saes} spliced in and {@code hooks} attached, for this run; hooks may name the SAEs'
     * points ({@code H.hook_sae_acts_post}) to ablate, boost or clamp features.
     */
    public static NDArray runWithHooksWithSaes(HookedTransformer model, NDArray tokens, List<Sae> saes,
            boolean useErrorTerm, HookSpec... hooks) {
        return model.runWithHooks(tokens, ForwardOptions.defaults(), List.of(hooks), splices(model, saes, useErrorTerm))
                .logits();
    }

    /** Every activation (the SAEs' points instead of the points they replace) and the logits. */
    public static ActivationCache runWithCacheWithSaes(HookedTransformer model, NDArray tokens, List<Sae> saes,
            boolean useErrorTerm) {
        return runWithCacheWithSaes(model, tokens, CacheOptions.all(), saes, useErrorTerm, List.of());
    }

    /** As {@link #runWithCacheWithSaes(HookedTransformer, NDArray, List, boolean)} with options and hooks. */
    public static ActivationCache runWithCacheWithSaes(HookedTransformer model, NDArray input, CacheOptions options,
            List<Sae> saes, boolean useErrorTerm, List<HookSpec> hooks) {
        return model.runWithCache(input, options, hooks, splices(model, saes, useErrorTerm));
    }

    /**
     * Splices {@code saes} into every run of {@code model} that starts before the returned scope closes (on
     * any thread), as SAELens's {@code model.saes(...)} context; hooks added inside it may name the SAEs' points.
     */
    public static HookScope withSaes(HookedTransformer model, List<Sae> saes, boolean useErrorTerm) {
        return model.splices(splices(model, saes, useErrorTerm));
    }

    /** The splices for {@code saes}, each checked against {@code model}. */
    public static List<SaeSplice> splices(HookedTransformer model, List<Sae> saes, boolean useErrorTerm) {
        return saes.stream().map(sae -> {
            SaeSplice splice = new SaeSplice(sae, useErrorTerm);
            ModelCompatibility.check(model, sae);
            return splice;
        }).toList();
    }
}
