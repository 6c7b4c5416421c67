package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import dev.loupe.numeric.NativeHeap;
import java.util.List;
import java.util.stream.Stream;

/**
 * The unembedding: {@code W_U [d_model, d_vocab_out]}, {@code b_U [d_vocab_out]}. Fires
 * {@code unembed.hook_in} [batch, pos, d_model] and {@code unembed.hook_out} [batch, pos, d_vocab_out].
 *
 * <p>BLAS is much slower on a matrix whose width is not a multiple of 64 (GPT-2's 50,257 columns run
 * at 70 % of the speed of 50,304), and this is the largest product of the model. So the product uses
 * a copy of {@code W_U} padded with zero columns, and the logits are a view of its first
 * {@code d_vocab_out} columns.
 *
 * <p>Stored in float16, {@code W_U} is never widened whole: for a 256,000-token vocabulary and
 * d_model 3584 that would be a 3.7 GB float32 temporary on every forward pass. The logits are
 * computed a slice of the vocabulary at a time instead (widen the slice's columns, multiply, keep the
 * product) and joined, so that only one slice is float32 at a time; each logit is the same dot
 * product as in the whole-matrix product. The float16 {@code W_U} is used unpadded: the slices'
 * widths are multiples of 64 already.
 */
public final class Unembed {
    private static final int ALIGNMENT = 64;
    /** Columns of a float16 {@code W_U} widened at a time: 117 MB of float32 at d_model 3584. */
    static final int SLICE_COLUMNS = 8192;

    private final int dVocabOut;
    private final Weight wUPadded; // [d_model, d_vocab_out rounded up to 64]; unpadded when float16
    private final int sliceColumns;
    private final Weight bUPadded; // null when b_U is all zeros: adding it would change nothing
    private final NDIndex vocabulary; // the real columns of the padded logits, parsed once
    private final HookPoint hookIn;
    private final HookPoint hookOut;

    public Unembed(TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        this(cfg, params, hooks, SLICE_COLUMNS);
    }

    /** As the public constructor, with float16 logits computed {@code sliceColumns} columns at a time. */
    Unembed(TransformerConfig cfg, Parameters params, HookCatalog hooks, int sliceColumns) {
        this.sliceColumns = sliceColumns;
        dVocabOut = cfg.dVocabOut();
        vocabulary = new NDIndex().addEllipseDim().addSliceDim(0, dVocabOut);
        NDArray wU = params.get("unembed.W_U", cfg.dModel(), cfg.dVocabOut());
        NDArray bU = params.get("unembed.b_U", cfg.dVocabOut());
        boolean sliced = wU.getDataType() == DataType.FLOAT16;
        int padding = sliced ? 0 : (ALIGNMENT - dVocabOut % ALIGNMENT) % ALIGNMENT;
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
        NDArray in = hookIn.fire(x);
        NDArray padded = wUPadded.isHalf() ? slicedProduct(in) : in.matMul(wUPadded.value());
        if (bUPadded != null) {
            padded.addi(bUPadded.value());
        }
        NDArray logits = padded.getShape().get(2) == dVocabOut ? padded : padded.get(vocabulary);
        return hookOut.fire(logits);
    }

    /**
     * {@code in @ W_U} for a float16 {@code W_U}, {@link #sliceColumns} columns at a time: each slice is
     * widened, multiplied, written into its columns of the logits and freed before the next (joining the
     * products at the end would hold the logits twice: 262 MB at Gemma-2-2B and 128 tokens).
     */
    private NDArray slicedProduct(NDArray in) {
        // The layers' freed activations stay in the C heap (scripts/jvm-env.sh keeps up to 1 GB there for speed),
        // but the logits and the widened slices are large enough to be mapped afresh beside them: giving them
        // back first keeps a float16 pass's peak near its weights (Gemma-2-2B: 0.19 GB of its 6.10 GB peak).
        NativeHeap.trim();
        NDManager pass = in.getManager();
        Shape shape = in.getShape();
        NDArray logits = pass.create(new Shape(shape.get(0), shape.get(1), dVocabOut), DataType.FLOAT32);
        for (int start = 0; start < dVocabOut; start += sliceColumns) {
            int end = Math.min(start + sliceColumns, dVocabOut);
            try (NDManager slice = pass.newSubManager()) {
                NDArray widened = wUPadded.stored().get(slice, new NDIndex().addAllDim().addSliceDim(start, end))
                        .toType(DataType.FLOAT32, false);
                try (NDArray product = in.matMul(widened)) {
                    logits.set(new NDIndex().addAllDim(2).addSliceDim(start, end), product);
                }
            }
        }
        return logits;
    }

    /** Whether {@link #forward} gives the logits as a contiguous array (not a view of wider, padded ones). */
    public boolean logitsContiguous() {
        return wUPadded.stored().getShape().get(1) == dVocabOut;
    }

    /** Whether a hook sees (and so may keep) the logits of this thread's run. */
    public boolean outputSeenByHooks() {
        return hookOut.hasHooks();
    }

    /**
     * Its parameters that the forward pass widens before the product: all of them, except a float16
     * {@code W_U}, which {@link #forward} widens a slice at a time.
     */
    public List<Weight> weights() {
        List<Weight> widened = wUPadded.isHalf() ? List.of() : List.of(wUPadded);
        return bUPadded == null ? widened : Stream.concat(widened.stream(), Stream.of(bUPadded)).toList();
    }
}
