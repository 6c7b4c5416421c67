package dev.loupe.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.hook.ActName;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import java.util.List;

/**
 * What lenses read from one run of a model: the residual stream at every layer (at the lens's
 * hook), the final residual and the model's logits. The run may carry hooks (ablations, patches),
 * whose effect the lenses then see, or come from a cache the caller already has.
 *
 * <p>Owns the cache it made; close it when done.
 */
public final class LensInputs implements AutoCloseable {
    private final ActivationCache cache;
    private final LensHook hook;
    private final int nLayers;
    private final boolean owned;

    private LensInputs(ActivationCache cache, LensHook hook, int nLayers, boolean owned) {
        this.cache = cache;
        this.hook = hook;
        this.nLayers = nLayers;
        this.owned = owned;
    }

    /**
     * Runs {@code model} on int64 tokens [batch, pos] and keeps what a lens reading {@code hook} needs.
     *
     * @param attentionMask [batch, pos] of 1 and 0, or null
     * @param hooks extra hooks for this run (e.g. an ablation), or an empty list
     */
    public static LensInputs run(HookedTransformer model, NDArray tokens, NDArray attentionMask, LensHook hook,
            List<HookSpec> hooks) {
        hook.checkSupported(model.config());
        int last = model.config().nLayers() - 1;
        String wanted = "blocks\\.\\d+\\.hook_" + hook.key() + "|blocks\\." + last + "\\.hook_resid_post";
        CacheOptions options = CacheOptions.matching(wanted)
                .withForward(ForwardOptions.builder().attentionMask(attentionMask).build());
        ActivationCache cache = model.runWithCache(tokens, options, hooks);
        return new LensInputs(cache, hook, model.config().nLayers(), true);
    }

    /** As {@link #run} without a mask or hooks, reading {@code resid_pre}. */
    public static LensInputs run(HookedTransformer model, NDArray tokens) {
        return run(model, tokens, null, LensHook.RESID_PRE, List.of());
    }

    /**
     * Reads from a cache the caller made (and keeps owning): it must hold {@code blocks.i.hook_<hook>}
     * for every layer, and the logits.
     */
    public static LensInputs fromCache(ActivationCache cache, LensHook hook, int nLayers) {
        for (int layer = 0; layer < nLayers; layer++) {
            if (!cache.containsKey(hook.hookName(layer))) {
                throw new LoupeException("The cache has no " + hook.hookName(layer) + "; cache every layer's "
                        + hook.key() + " (e.g. CacheOptions.matching(\"blocks\\\\.\\\\d+\\\\.hook_" + hook.key()
                        + "|.*resid_post\"))");
            }
        }
        return new LensInputs(cache, hook, nLayers, false);
    }

    /** The residual a lens reads at {@code layer} [batch, pos, d_model] (negative counts from the end). */
    public NDArray hidden(int layer) {
        int index = layer < 0 ? nLayers + layer : layer;
        if (index < 0 || index >= nLayers) {
            throw new LoupeException("Layer " + layer + " is outside the model's " + nLayers + " layers");
        }
        return cache.get(hook.hookName(index));
    }

    /** Every layer's residual [n_layers, batch, pos, d_model]. */
    public NDArray hiddenAll() {
        NDList layers = new NDList();
        for (int layer = 0; layer < nLayers; layer++) {
            layers.add(hidden(layer));
        }
        return NDArrays.stack(layers, 0);
    }

    /** The residual after the last block [batch, pos, d_model] (the final norm's input). */
    public NDArray finalResidual() {
        String name = ActName.of("resid_post", nLayers - 1);
        if (!cache.containsKey(name)) {
            throw new LoupeException("The cache has no " + name + "; cache it to read the final residual");
        }
        return cache.get(name);
    }

    /** The model's logits [batch, pos, d_vocab_out]. */
    public NDArray logits() {
        return cache.logits();
    }

    /** Which hook the residuals were read at. */
    public LensHook hook() {
        return hook;
    }

    /** The underlying cache. */
    public ActivationCache cache() {
        return cache;
    }

    @Override
    public void close() {
        if (owned) {
            cache.close();
        }
    }
}
