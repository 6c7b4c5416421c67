package dev.loupe.linalg;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.ejml.data.DMatrixRMaj;

/**
 * Moves a batch of small matrices between DJL and EJML. DJL has no SVD or eigendecomposition, so
 * those run on the CPU in double precision, one leading index at a time.
 */
final class DenseBatch {
    private DenseBatch() {}

    /**
     * One row-major double matrix per leading index of {@code x} [..., rows, cols], in C order of the
     * leading dims.
     */
    static DMatrixRMaj[] split(NDArray x) {
        Shape shape = x.getShape();
        int rows = Math.toIntExact(shape.get(shape.dimension() - 2));
        int cols = Math.toIntExact(shape.get(shape.dimension() - 1));
        int count = Math.toIntExact(shape.slice(0, shape.dimension() - 2).size());
        double[] data = doubles(x);
        DMatrixRMaj[] matrices = new DMatrixRMaj[count];
        for (int i = 0; i < count; i++) {
            matrices[i] = new DMatrixRMaj(rows, cols);
            System.arraycopy(data, i * rows * cols, matrices[i].data, 0, rows * cols);
        }
        return matrices;
    }

    /** Stacks same-shaped matrices into a float32 array [*leading, rows, cols] owned by {@code manager}. */
    static NDArray stack(NDManager manager, Shape leading, DMatrixRMaj[] matrices) {
        int rows = matrices[0].numRows;
        int cols = matrices[0].numCols;
        float[] out = new float[matrices.length * rows * cols];
        for (int i = 0; i < matrices.length; i++) {
            double[] m = matrices[i].data;
            for (int j = 0; j < rows * cols; j++) {
                out[i * rows * cols + j] = (float) m[j];
            }
        }
        return manager.create(out, leading.addAll(new Shape(rows, cols)));
    }

    /** Stacks same-length vectors into a float32 array [*leading, length] owned by {@code manager}. */
    static NDArray stack(NDManager manager, Shape leading, double[][] vectors) {
        int length = vectors[0].length;
        float[] out = new float[vectors.length * length];
        for (int i = 0; i < vectors.length; i++) {
            for (int j = 0; j < length; j++) {
                out[i * length + j] = (float) vectors[i][j];
            }
        }
        return manager.create(out, leading.addAll(new Shape(length)));
    }

    /** The elements of {@code x} in C order, widened to double (float16 and float64 inputs included). */
    private static double[] doubles(NDArray x) {
        if (x.getDataType() == DataType.FLOAT64) {
            return x.toDoubleArray();
        }
        float[] floats;
        if (x.getDataType() == DataType.FLOAT32) {
            floats = x.toFloatArray();
        } else {
            try (NDArray wide = x.toType(DataType.FLOAT32, true)) {
                floats = wide.toFloatArray();
            }
        }
        double[] out = new double[floats.length];
        for (int i = 0; i < floats.length; i++) {
            out[i] = floats[i];
        }
        return out;
    }
}
