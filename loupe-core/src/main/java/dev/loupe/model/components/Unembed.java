package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.hook.HookPoint;
import dev.loupe.model.TransformerConfig;

/**
 * The unembedding: {@code W_U [d_model, d_vocab_out]}, {@code b_U [d_vocab_out]}. Fires
 * {@code unembed.hook_in} [batch, pos, d_model] and {@code unembed.hook_out} [batch, pos, d_vocab_out].
 */
public final class Unembed {
    private final NDArray wU;
    private final NDArray bU;
    private final HookPoint hookIn;
    private final HookPoint hookOut;

    public Unembed(TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        wU = params.get("unembed.W_U", cfg.dModel(), cfg.dVocabOut());
        bU = params.get("unembed.b_U", cfg.dVocabOut());
        hookIn = hooks.add("unembed.hook_in", HookCatalog::residual);
        hookOut = hooks.add("unembed.hook_out", (c, batch, pos) -> new Shape(batch, pos, c.dVocabOut()));
    }

    /** x [batch, pos, d_model] → logits [batch, pos, d_vocab_out]. */
    public NDArray forward(NDArray x) {
        return hookOut.fire(hookIn.fire(x).matMul(wU).addi(bU));
    }
}
