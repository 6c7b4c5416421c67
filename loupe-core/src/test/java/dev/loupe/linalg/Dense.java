package dev.loupe.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/** Reference computations on materialized matrices, and the comparisons the analysis tests share. */
final class Dense {
    private Dense() {}

    /** Standard normal entries from a fixed seed, so that every run sees the same matrices. */
    static NDArray random(NDManager manager, long seed, long... shape) {
        Random random = new Random(seed);
        float[] data = new float[Math.toIntExact(new Shape(shape).size())];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
        }
        return manager.create(data, new Shape(shape));
    }

    /** Same shape, and max |actual - expected| <= rtol * max |expected|. */
    static void assertRelClose(String what, NDArray actual, NDArray expected, double rtol) {
        assertThat(actual.getShape()).as(what + " shape").isEqualTo(expected.getShape());
        float[] a = actual.toFloatArray();
        float[] e = expected.toFloatArray();
        double scale = 0;
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            scale = Math.max(scale, Math.abs(e[i]));
            worst = Math.max(worst, Math.abs((double) a[i] - e[i]));
        }
        if (!(worst <= rtol * Math.max(scale, 1e-30))) {
            fail(what + ": max |diff| " + worst + " exceeds " + rtol + " x max |expected| " + scale + "\nactual   "
                    + Arrays.toString(a) + "\nexpected " + Arrays.toString(e));
        }
    }

    /** The matrices of x [..., rows, cols], one per leading index. */
    static DMatrixRMaj[] matrices(NDArray x) {
        return DenseBatch.split(x);
    }

    /** The singular values of m, descending (EJML leaves them unordered). */
    static double[] singularValues(DMatrixRMaj m) {
        SingularValueDecomposition_F64<DMatrixRMaj> svd =
                DecompositionFactory_DDRM.svd(m.numRows, m.numCols, false, false, true);
        assertThat(svd.decompose(m.copy())).as("dense SVD converged").isTrue();
        double[] s = Arrays.copyOf(svd.getSingularValues(), svd.numberOfSingularValues());
        Arrays.sort(s);
        for (int i = 0; i < s.length / 2; i++) {
            double t = s[i];
            s[i] = s[s.length - 1 - i];
            s[s.length - 1 - i] = t;
        }
        return s;
    }

    /** The Frobenius norm of m. */
    static double frobenius(DMatrixRMaj m) {
        double sum = 0;
        for (double v : m.data) {
            sum += v * v;
        }
        return Math.sqrt(sum);
    }
}
