package dev.loupe.lens;

import ai.djl.ndarray.NDArray;
import dev.loupe.model.HookedTransformer;

/**
 * The logit lens: any residual read out through the model's own final norm and unembedding, as if
 * the model stopped there. On the final residual ({@code blocks.<last>.hook_resid_post}) it gives
 * the model's logits.
 */
public final class LogitLens implements Lens {
    private final Unembedding unembedding;
    private final LensHook hook;

    private LogitLens(Unembedding unembedding, LensHook hook) {
        this.unembedding = unembedding;
        this.hook = hook;
    }

    /** The logit lens of {@code model}, reading {@code resid_pre}. */
    public static LogitLens of(HookedTransformer model) {
        return new LogitLens(Unembedding.of(model), LensHook.RESID_PRE);
    }

    /** The logit lens of {@code model}, reading {@code hook}. */
    public static LogitLens of(HookedTransformer model, LensHook hook) {
        hook.checkSupported(model.config());
        return new LogitLens(Unembedding.of(model), hook);
    }

    @Override
    public int numLayers() {
        return unembedding.config().nLayers();
    }

    @Override
    public LensHook hook() {
        return hook;
    }

    @Override
    public Unembedding unembedding() {
        return unembedding;
    }

    /** The identity: the logit lens reads the residual as it is. */
    @Override
    public NDArray transformHidden(NDArray h, int layer) {
        layerIndex(layer);
        return h;
    }

    /** Logits [..., d_vocab_out] of any residual h [..., d_model], whatever its layer. */
    public NDArray forward(NDArray h) {
        return unembedding.forward(h);
    }
}
