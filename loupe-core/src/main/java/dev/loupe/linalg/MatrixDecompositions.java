package dev.loupe.linalg;

import dev.loupe.LoupeException;
import java.util.Arrays;
import java.util.Comparator;
import org.ejml.data.Complex_F64;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/** The double-precision linear algebra behind {@link FactoredMatrix}, for one matrix of a batch. */
final class MatrixDecompositions {
    private MatrixDecompositions() {}

    /** A thin SVD {@code M = U diag(s) Vᵀ}, singular values descending; U [rows, k], s [k], V [cols, k]. */
    record Thin(DMatrixRMaj u, double[] s, DMatrixRMaj v) {}

    /** The thin SVD of {@code m} [rows, cols], with k = min(rows, cols). */
    static Thin thinSvd(DMatrixRMaj m) {
        SingularValueDecomposition_F64<DMatrixRMaj> svd =
                DecompositionFactory_DDRM.svd(m.numRows, m.numCols, true, true, true);
        // EJML may overwrite its input, and callers still need theirs.
        if (!svd.decompose(m.copy())) {
            throw new LoupeException("SVD did not converge for a " + m.numRows + "x" + m.numCols
                    + " matrix (does it hold NaN or infinity?)");
        }
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj v = svd.getV(null, false);
        double[] s = Arrays.copyOf(svd.getSingularValues(), svd.numberOfSingularValues());
        // EJML leaves singular values unordered; TransformerLens (torch) returns them descending.
        SingularOps_DDRM.descendingOrder(u, false, s, s.length, v, false);
        return new Thin(u, s, v);
    }

    /**
     * The thin SVD of {@code a @ b} (a [ldim, mdim], b [mdim, rdim]) without forming the product: with
     * a = Ua Sa Vaᵀ and b = Ub Sb Vbᵀ, a @ b = Ua (Sa Vaᵀ Ub Sb) Vbᵀ, and only the small middle factor
     * needs a further SVD. U [ldim, k], s [k], V [rdim, k] with k = min(ldim, mdim, rdim).
     */
    static Thin productSvd(DMatrixRMaj a, DMatrixRMaj b) {
        Thin left = thinSvd(a);
        Thin right = thinSvd(b);
        DMatrixRMaj middle = new DMatrixRMaj(left.s.length, right.s.length);
        CommonOps_DDRM.multTransA(left.v, right.u, middle);
        for (int i = 0; i < middle.numRows; i++) {
            for (int j = 0; j < middle.numCols; j++) {
                middle.set(i, j, left.s[i] * middle.get(i, j) * right.s[j]);
            }
        }
        Thin inner = thinSvd(middle);
        DMatrixRMaj u = new DMatrixRMaj(a.numRows, inner.s.length);
        DMatrixRMaj v = new DMatrixRMaj(b.numCols, inner.s.length);
        CommonOps_DDRM.mult(left.u, inner.u, u);
        CommonOps_DDRM.mult(right.v, inner.v, v);
        return new Thin(u, inner.s, v);
    }

    /**
     * The eigenvalues of the square matrix {@code m} as (real, imaginary) rows [n, 2], ordered by
     * descending modulus, then descending real part, then descending imaginary part (so a conjugate
     * pair lists +i first). LAPACK, and so TransformerLens, promises no order; a fixed one makes
     * results comparable.
     */
    static double[][] eigenvalues(DMatrixRMaj m) {
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m.numRows, false);
        if (!eig.decompose(m.copy())) {
            throw new LoupeException("Eigendecomposition did not converge for a " + m.numRows + "x" + m.numCols
                    + " matrix (does it hold NaN or infinity?)");
        }
        double[][] values = new double[eig.getNumberOfEigenvalues()][];
        for (int i = 0; i < values.length; i++) {
            Complex_F64 value = eig.getEigenvalue(i);
            values[i] = new double[] {value.real, value.imaginary};
        }
        Arrays.sort(values, Comparator.<double[]>comparingDouble(v -> -Math.hypot(v[0], v[1]))
                .thenComparingDouble(v -> -v[0])
                .thenComparingDouble(v -> -v[1]));
        return values;
    }
}
