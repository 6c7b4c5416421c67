package dev.loupe.lens.causal;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.hook.ActName;
import dev.loupe.hook.Hook;
import dev.loupe.hook.HookSpec;

/**
 * Removes a subspace of the residual stream: the tuned-lens library's {@code remove_subspace} and
 * {@code ablate_subspace}, as a {@link Hook} any run can carry. A basis {@code A} [d_model, k] spans
 * the subspace; {@code P = A Aᵀ} projects onto it. {@link AblationMode#ZERO} gives {@code u − P u},
 * {@link AblationMode#MEAN} {@code u + P (mean(u) − u)}, the mean taken over every vector of the
 * activation (all batch rows and positions, padding included, as the library has no mask).
 */
public final class SubspaceAblation {
    private SubspaceAblation() {}

    /**
     * {@code u} [..., d_model] with the span of {@code basis} [d_model, k] removed; the columns of
     * {@code basis} must be orthonormal (the library's {@code orthonormal=True}). Nothing is done in
     * place, so it runs under autograd (gradients reach {@code basis}); the result belongs to
     * {@code u}'s manager.
     */
    public static NDArray removeSubspace(NDArray u, NDArray basis, AblationMode mode) {
        checkShapes(u, basis);
        NDArray inSubspace = u.matMul(basis).matMul(basis.transpose()); // P u, [..., d_model]
        return switch (mode) {
            case ZERO -> u.sub(inSubspace);
            case MEAN -> u.add(mean(u).matMul(basis).matMul(basis.transpose())).sub(inSubspace);
        };
    }

    /**
     * A hook that removes the span of {@code basis} [d_model, k] from the activation it sees
     * ([..., d_model], e.g. {@code blocks.i.hook_resid_post}). Columns that are not orthonormal are
     * orthonormalised first (the same projector as the library's {@code A (AᵀA)⁻¹ Aᵀ}). The projector
     * is computed once, in {@code basis}'s manager, which must stay open while the hook is used.
     *
     * @throws LoupeException if the basis is not [d_model, k] or its columns are linearly dependent
     */
    public static Hook hook(NDArray basis, AblationMode mode) {
        NDArray projector = projector(basis); // [d_model, d_model]
        return (activation, point) -> {
            checkShapes(activation, basis);
            NDArray inSubspace = activation.matMul(projector);
            return switch (mode) {
                case ZERO -> activation.sub(inSubspace);
                case MEAN -> activation.add(mean(activation).matMul(projector)).sub(inSubspace);
            };
        };
    }

    /** {@link #hook} on the hook point {@code hookName} (e.g. {@code blocks.1.hook_resid_pre}). */
    public static HookSpec ablateSubspace(NDArray basis, String hookName, AblationMode mode) {
        return HookSpec.forward(hookName, hook(basis, mode));
    }

    /**
     * The library's {@code ablate_subspace(model, A, layer_index, mode)}: {@link #hook} on the output of
     * block {@code layer} ({@code blocks.<layer>.hook_resid_post}).
     */
    public static HookSpec ablateSubspace(NDArray basis, int layer, AblationMode mode) {
        return ablateSubspace(basis, ActName.of("resid_post", layer), mode);
    }

    /** The mean of every vector of {@code u} [..., d_model]: [d_model]. */
    private static NDArray mean(NDArray u) {
        long d = u.getShape().get(u.getShape().dimension() - 1);
        return u.reshape(-1, d).mean(new int[] {0});
    }

    /** {@code Q Qᵀ} [d_model, d_model] for orthonormal Q spanning the columns of {@code basis}. */
    static NDArray projector(NDArray basis) {
        if (basis.getShape().dimension() != 2) {
            throw new LoupeException("A subspace basis is a matrix [d_model, k] with one column per direction, got "
                    + basis.getShape());
        }
        int d = (int) basis.getShape().get(0);
        int k = (int) basis.getShape().get(1);
        double[][] q = orthonormalColumns(basis.toType(DataType.FLOAT64, false).toDoubleArray(), d, k);
        float[] p = new float[d * d];
        for (int r = 0; r < d; r++) {
            for (int c = 0; c < d; c++) {
                double sum = 0;
                for (double[] column : q) {
                    sum += column[r] * column[c];
                }
                p[r * d + c] = (float) sum;
            }
        }
        return basis.getManager().create(p, new Shape(d, d));
    }

    /** The k columns of a row-major [d, k] matrix orthonormalised, as a row-major [d, k] float matrix. */
    static float[] orthonormal(double[] a, int d, int k) {
        double[][] q = orthonormalColumns(a, d, k);
        float[] out = new float[d * k];
        for (int r = 0; r < d; r++) {
            for (int c = 0; c < k; c++) {
                out[r * k + c] = (float) q[c][r];
            }
        }
        return out;
    }

    /** Modified Gram–Schmidt on the k columns of a row-major [d, k] matrix: k orthonormal columns. */
    private static double[][] orthonormalColumns(double[] a, int d, int k) {
        double[][] q = new double[k][d];
        for (int j = 0; j < k; j++) {
            double original = 0;
            for (int r = 0; r < d; r++) {
                q[j][r] = a[r * k + j];
                original += q[j][r] * q[j][r];
            }
            for (int i = 0; i < j; i++) {
                double dot = 0;
                for (int r = 0; r < d; r++) {
                    dot += q[i][r] * q[j][r];
                }
                for (int r = 0; r < d; r++) {
                    q[j][r] -= dot * q[i][r];
                }
            }
            double norm = 0;
            for (int r = 0; r < d; r++) {
                norm += q[j][r] * q[j][r];
            }
            if (norm <= 1e-12 * Math.max(original, Double.MIN_NORMAL)) {
                throw new LoupeException("Column " + j + " of the subspace basis lies in the span of the columns before"
                        + " it (or is zero): give k linearly independent directions");
            }
            norm = Math.sqrt(norm);
            for (int r = 0; r < d; r++) {
                q[j][r] /= norm;
            }
        }
        return q;
    }

    private static void checkShapes(NDArray u, NDArray basis) {
        Shape shape = u.getShape();
        if (basis.getShape().dimension() != 2 || shape.get(shape.dimension() - 1) != basis.getShape().get(0)) {
            throw new LoupeException("The subspace basis must be [d_model, k] with d_model = " + shape.get(shape.dimension()
                    - 1) + " (the activation's last axis, shape " + shape + "), got " + basis.getShape());
        }
    }
}
