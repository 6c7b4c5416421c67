package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import java.util.List;

/**
 * The unembedding: {@code W_U [d_model, d_vocab_out]}, {@code b_U [d_vocab_out]}. Fires
 * {@code unembed.hook_in} [batch, pos, d_model] and {@code unembed.hook_out} [batch, pos, d_vocab_out].
 *
 * <p>BLAS is much slower on a matrix whose width is not a multiple of 64 (GPT-2's 50,257 columns run
 * at 70 % of the speed of 50,304), and this is the largest product of the model. So the product uses
 * a copy of {@code W_U} padded with zero columns, and the logits are a view of its first
 * {@code d_vocab_out} columns.
 */
public final class Unembed {
    private static final int ALIGNMENT = 64;

    private final int dVocabOut;
    private final Weight wUPadded; // [d_model, d_vocab_out rounded up to 64]
    private final Weight bUPadded; // null when b_U is all zeros: adding it would change nothing
    private final NDIndex vocabulary; // the real columns of the padded logits, parsed once
    private final HookPoint hookIn;
    private final HookPoint hookOut;

    public Unembed(TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        dVocabOut = cfg.dVocabOut();
        vocabulary = new NDIndex().addEllipseDim().addSliceDim(0, dVocabOut);
        NDArray wU = params.get("unembed.W_U", cfg.dModel(), cfg.dVocabOut());
        NDArray bU = params.get("unembed.b_U", cfg.dVocabOut());
        int padding = (ALIGNMENT - dVocabOut % ALIGNMENT) % ALIGNMENT;
        wUPadded = Weight.of(padding == 0 ? wU : NDArrays.concat(new NDList(wU,
                params.manager().zeros(new Shape(cfg.dModel(), padding), wU.getDataType())), 1));
        boolean hasBias;
        try (NDArray magnitude = bU.abs(); NDArray largest = magnitude.max()) {
            hasBias = largest.getFloat() > 0;
        }
        bUPadded = !hasBias ? null : Weight.of(padding == 0 ? bU
                : NDArrays.concat(new NDList(bU, params.manager().zeros(new Shape(padding), bU.getDataType())), 0));
        hookIn = hooks.add("unembed.hook_in", HookCatalog::residual);
        hookOut = hooks.add("unembed.hook_out", (c, batch, pos) -> new Shape(batch, pos, c.dVocabOut()));
    }

    /** x [batch, pos, d_model] → logits [batch, pos, d_vocab_out]. */
    public NDArray forward(NDArray x) {
        NDArray padded = hookIn.fire(x).matMul(wUPadded.value());
        if (bUPadded != null) {
            padded.addi(bUPadded.value());
        }
        NDArray logits = padded.getShape().get(2) == dVocabOut ? padded : padded.get(vocabulary);
        return hookOut.fire(logits);
    }

    /** Its parameters, as the product uses them. */
    public List<Weight> weights() {
        return bUPadded == null ? List.of(wUPadded) : List.of(wUPadded, bUPadded);
    }
}
