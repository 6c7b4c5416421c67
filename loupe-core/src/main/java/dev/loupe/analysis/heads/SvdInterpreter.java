package dev.loupe.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.linalg.FactoredMatrix;
import dev.loupe.model.WeightViews;
import java.util.Map;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * TransformerLens's {@code SVDInterpreter}: the top right-singular vectors of a head's OV circuit or
 * of an MLP's input or output weights, each read through the unembedding as a score per vocabulary
 * token, to see which tokens a direction writes towards.
 *
 * <pre>{@code
 * SvdInterpreter svd = new SvdInterpreter(model);
 * NDArray ov = svd.singularVectors(VectorType.OV, 0, 5, 3, manager);   // [d_vocab, 1, 5]
 * }</pre>
 *
 * <p>Singular vectors are defined up to sign, and TransformerLens's come from LAPACK while these come
 * from EJML, so a column may be the negation of TransformerLens's.
 */
public final class SvdInterpreter {
    /** Which matrix to decompose. */
    public enum VectorType {
        /** A head's {@code W_V[l, h] @ W_O[l, h]} [d_model, d_model], through {@link FactoredMatrix}. */
        OV,
        /** Layer l's {@code W_in[l]ᵀ} [d_mlp, d_model] (times {@code ln2.w} if the model still has it). */
        W_IN,
        /** Layer l's {@code W_out[l]} [d_mlp, d_model]. */
        W_OUT
    }

    private final WeightViews model;

    /** Reads the weights of {@code model} (a {@code HookedTransformer}) each time it is asked. */
    public SvdInterpreter(WeightViews model) {
        this.model = model;
    }

    /**
     * TransformerLens's {@code get_singular_vectors}: the top {@code numVectors} right-singular
     * vectors (descending singular value) of the chosen matrix, each multiplied by
     * {@code unembed.W_U} [d_model, d_vocab].
     *
     * @param head the head for {@link VectorType#OV}; must be null-free there, ignored otherwise
     * @return [d_vocab, 1, numVectors], owned by {@code manager}
     * @throws LoupeException with TransformerLens's messages when the head is missing for OV or the
     *     layer or head is out of range, and when {@code numVectors} exceeds the vectors there are
     */
    public NDArray singularVectors(VectorType type, int layer, int numVectors, Integer head, NDManager manager) {
        TransformerConfig cfg = model.config();
        if (head == null && type == VectorType.OV) {
            throw new LoupeException("Head index optional only for w_in and w_out, got OV");
        }
        if (layer < 0 || layer >= cfg.nLayers()) {
            throw new LoupeException("Layer index must be between 0 and " + (cfg.nLayers() - 1) + " but got " + layer);
        }
        if (numVectors < 1) {
            throw new LoupeException("numVectors must be at least 1, got " + numVectors);
        }
        try (NDManager scratch = manager.newSubManager()) {
            NDArray rows = switch (type) {
                case OV -> ovVectors(cfg, layer, head, scratch);
                case W_IN -> denseVectors(wIn(layer, scratch), scratch);
                case W_OUT -> denseVectors(param(ActName.block(layer, "mlp.W_out"), scratch), scratch);
            }; // [k, d_model], row i = i-th right singular vector
            long available = rows.getShape().get(0);
            if (numVectors > available) {
                throw new LoupeException("numVectors = " + numVectors + " but the " + type + " matrix of layer " + layer
                        + " has only " + available + " right singular vectors");
            }
            NDArray wU = param("unembed.W_U", scratch); // [d_model, d_vocab]
            NDArray top = rows.get(new NDIndex("0:" + numVectors)); // [num, d_model]
            NDArray projected = top.matMul(wU).transpose(); // [d_vocab, num]
            NDArray result = projected.reshape(new Shape(projected.getShape().get(0), 1, numVectors));
            result.attach(manager);
            return result;
        }
    }

    /** Vhᵀ of the head's factored OV circuit: [d_head, d_model]. */
    private NDArray ovVectors(TransformerConfig cfg, int layer, int head, NDManager scratch) {
        if (head < 0 || head >= cfg.nHeads()) {
            throw new LoupeException("Head index must be between 0 and " + (cfg.nHeads() - 1) + " but got " + head);
        }
        NDArray wV;
        if (cfg.groupedQueryAttention()) {
            // Query head h reads key/value head h / group, as the model's W_V view repeats them.
            wV = param(ActName.block(layer, "attn._W_V"), scratch).get(head / (cfg.nHeads() / cfg.kvHeads()));
        } else {
            wV = param(ActName.block(layer, "attn.W_V"), scratch).get(head);
        }
        NDArray wO = param(ActName.block(layer, "attn.W_O"), scratch).get(head);
        try (FactoredMatrix ov = new FactoredMatrix(wV, wO)) {
            // Vh holds the right singular vectors as columns (TransformerLens's convention).
            return ov.Vh().transpose().duplicate();
        }
    }

    /** {@code W_in[l]ᵀ}, scaled column-wise by ln2.w where LayerNorm was not folded in. */
    private NDArray wIn(int layer, NDManager scratch) {
        NDArray wIn = param(ActName.block(layer, "mlp.W_in"), scratch).transpose(); // [d_mlp, d_model]
        NDArray ln2 = model.stateDict().get(ActName.block(layer, "ln2.w"));
        return ln2 == null ? wIn : wIn.mul(ln2.get(scratch, new NDIndex()).duplicate());
    }

    /** The full Vh [cols, cols] of a dense matrix [rows, cols], rows sorted by descending singular value. */
    private static NDArray denseVectors(NDArray matrix, NDManager scratch) {
        int rows = (int) matrix.getShape().get(0);
        int cols = (int) matrix.getShape().get(1);
        float[] data = matrix.toType(DataType.FLOAT32, false).toFloatArray();
        DMatrixRMaj m = new DMatrixRMaj(rows, cols);
        for (int i = 0; i < data.length; i++) {
            m.data[i] = data[i];
        }
        // Full (not compact) as torch.linalg.svd's default, so there are cols vectors even when rows < cols.
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(rows, cols, false, true, false);
        if (!svd.decompose(m)) {
            throw new LoupeException("The SVD of a " + rows + "×" + cols + " matrix did not converge");
        }
        DMatrixRMaj vt = svd.getV(null, true); // [cols, cols], rows = right singular vectors
        DMatrixRMaj w = svd.getW(null);
        SingularOps_DDRM.descendingOrder(null, false, w, vt, true);
        float[] out = new float[cols * cols];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) vt.data[i];
        }
        return scratch.create(out, new Shape(cols, cols));
    }

    private NDArray param(String name, NDManager scratch) {
        Map<String, NDArray> sd = model.stateDict();
        NDArray value = sd.get(name);
        if (value == null) {
            throw new LoupeException("This model has no parameter '" + name + "'" + (model.config().mixtureOfExperts()
                    ? ": a mixture of experts has no single MLP; each expert has its own mlp.experts.E.W_in.weight and"
                    + " W_out.weight" : ""));
        }
        // An indexed view places the copy in scratch, so the model's own weights are never touched.
        return value.get(scratch, new NDIndex()).toType(DataType.FLOAT32, false);
    }
}
