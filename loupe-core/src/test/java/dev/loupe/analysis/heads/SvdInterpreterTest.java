package dev.loupe.analysis.heads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.analysis.heads.SvdInterpreter.VectorType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.linalg.FactoredMatrix;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.RandomModels;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks against references computed independently on dense matrices: the OV circuit formed in full
 * and decomposed by EJML's SVD, and the MLP weights' right singular vectors as the eigenvectors of
 * MᵀM. Columns are compared up to sign, which no SVD fixes.
 */
class SvdInterpreterTest {
    private static HookedTransformer model;
    private static NDManager manager;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrained(Path.of("..", "testdata", "models", "gpt2"));
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
        model.close();
    }

    @Test
    void ovMatchesDenseSvd() {
        int layer = 1;
        int head = 2;
        NDArray actual = new SvdInterpreter(model).singularVectors(VectorType.OV, layer, 4, head, manager);
        assertThat(actual.getShape()).isEqualTo(new Shape(512, 1, 4));
        DMatrixRMaj wV = dense(model.stateDict().get("blocks.1.attn.W_V").get(head));
        DMatrixRMaj wO = dense(model.stateDict().get("blocks.1.attn.W_O").get(head));
        DMatrixRMaj ov = new DMatrixRMaj(wV.numRows, wO.numCols);
        CommonOps_DDRM.mult(wV, wO, ov);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(ov.numRows, ov.numCols,
                false, true, false);
        assertThat(svd.decompose(ov)).isTrue();
        double[] s = svd.getSingularValues();
        DMatrixRMaj vt = svd.getV(null, true);
        Integer[] order = descending(s);
        assertProjectionsMatch(actual, vt, order, 4, model);
    }

    @Test
    void mlpWeightsMatchEigenvectorsOfGram() {
        SvdInterpreter svd = new SvdInterpreter(model);
        NDArray in = svd.singularVectors(VectorType.W_IN, 0, 3, null, manager);
        assertThat(in.getShape()).isEqualTo(new Shape(512, 1, 3));
        DMatrixRMaj wInT = new DMatrixRMaj();
        CommonOps_DDRM.transpose(dense(model.stateDict().get("blocks.0.mlp.W_in")), wInT);
        assertProjectionsMatchGram(in, wInT, 3);

        NDArray out = svd.singularVectors(VectorType.W_OUT, 1, 5, null, manager);
        assertThat(out.getShape()).isEqualTo(new Shape(512, 1, 5));
        assertProjectionsMatchGram(out, dense(model.stateDict().get("blocks.1.mlp.W_out")), 5);
    }

    @Test
    void unfoldedLayerNormScalesWIn() {
        // Without processing ln2.w is still a parameter, and TransformerLens multiplies it in.
        try (HookedTransformer raw = HookedTransformer.fromPretrainedNoProcessing(
                Path.of("..", "testdata", "models", "gpt2"))) {
            NDArray in = new SvdInterpreter(raw).singularVectors(VectorType.W_IN, 1, 2, null, manager);
            DMatrixRMaj wInT = new DMatrixRMaj();
            CommonOps_DDRM.transpose(dense(raw.stateDict().get("blocks.1.mlp.W_in")), wInT);
            float[] ln2 = raw.stateDict().get("blocks.1.ln2.w").toFloatArray();
            for (int r = 0; r < wInT.numRows; r++) {
                for (int c = 0; c < wInT.numCols; c++) {
                    wInT.set(r, c, wInT.get(r, c) * ln2[c]);
                }
            }
            assertProjectionsMatchGram(in, wInT, 2, raw);
        }
    }

    @Test
    void groupedQueryAttentionReadsTheSharedValueHead() {
        TransformerConfig cfg = RandomModels.rmsNormConfig(); // 4 query heads share 2 key/value heads
        NDManager weights = NDManager.newBaseManager();
        try (HookedTransformer gqa = new HookedTransformer(cfg, RandomModels.stateDict(cfg, weights), weights)) {
            SvdInterpreter svd = new SvdInterpreter(gqa);
            NDArray actual = svd.singularVectors(VectorType.OV, 1, 3, 3, manager);
            // Head 3 reads value head 1: the same OV circuit as the model's repeated W_V view gives.
            NDArray wV = gqa.W_V(manager).get(1, 3);
            NDArray wO = gqa.W_O(manager).get(1, 3);
            try (FactoredMatrix ov = new FactoredMatrix(wV, wO)) {
                NDArray expected = ov.Vh().transpose().get("0:3").matMul(gqa.W_U(manager)).transpose()
                        .reshape(cfg.dVocab(), 1, 3);
                assertThat(actual.sub(expected).abs().max().getFloat()).isLessThan(1e-5f);
            }
            assertThat(svd.singularVectors(VectorType.W_IN, 0, 2, null, manager).getShape())
                    .isEqualTo(new Shape(cfg.dVocab(), 1, 2));
        }
    }

    @Test
    void validatesAsTransformerLens() {
        SvdInterpreter svd = new SvdInterpreter(model);
        assertThatThrownBy(() -> svd.singularVectors(VectorType.OV, 0, 3, null, manager))
                .isInstanceOf(LoupeException.class).hasMessage("Head index optional only for w_in and w_out, got OV");
        assertThatThrownBy(() -> svd.singularVectors(VectorType.OV, 2, 3, 0, manager))
                .hasMessage("Layer index must be between 0 and 1 but got 2");
        assertThatThrownBy(() -> svd.singularVectors(VectorType.W_IN, -1, 3, null, manager))
                .hasMessage("Layer index must be between 0 and 1 but got -1");
        assertThatThrownBy(() -> svd.singularVectors(VectorType.OV, 0, 3, 4, manager))
                .hasMessage("Head index must be between 0 and 3 but got 4");
        // d_head = 8: the OV circuit has 8 right singular vectors, not 9.
        assertThatThrownBy(() -> svd.singularVectors(VectorType.OV, 0, 9, 0, manager))
                .hasMessageContaining("has only 8 right singular vectors");
    }

    /** Right singular vectors of m are the eigenvectors of mᵀm, by descending eigenvalue. */
    private static void assertProjectionsMatchGram(NDArray actual, DMatrixRMaj m, int num) {
        assertProjectionsMatchGram(actual, m, num, model);
    }

    private static void assertProjectionsMatchGram(NDArray actual, DMatrixRMaj m, int num, HookedTransformer of) {
        DMatrixRMaj gram = new DMatrixRMaj(m.numCols, m.numCols);
        CommonOps_DDRM.multTransA(m, m, gram);
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m.numCols, true, true);
        assertThat(eig.decompose(gram)).isTrue();
        double[] values = new double[m.numCols];
        DMatrixRMaj vt = new DMatrixRMaj(m.numCols, m.numCols);
        for (int i = 0; i < m.numCols; i++) {
            values[i] = eig.getEigenvalue(i).getReal();
            DMatrixRMaj v = eig.getEigenVector(i);
            for (int j = 0; j < m.numCols; j++) {
                vt.set(i, j, v.get(j));
            }
        }
        assertProjectionsMatch(actual, vt, descending(values), num, of);
    }

    /** actual[:, 0, i] = ± vt[order[i]] · W_U for each i. */
    private static void assertProjectionsMatch(NDArray actual, DMatrixRMaj vt, Integer[] order, int num,
            HookedTransformer of) {
        DMatrixRMaj wU = dense(of.stateDict().get("unembed.W_U")); // [d_model, d_vocab]
        float[] got = actual.toFloatArray(); // [d_vocab, 1, num]
        int vocab = wU.numCols;
        for (int i = 0; i < num; i++) {
            double[] expected = new double[vocab];
            double scale = 0;
            for (int t = 0; t < vocab; t++) {
                for (int d = 0; d < wU.numRows; d++) {
                    expected[t] += vt.get(order[i], d) * wU.get(d, t);
                }
                scale = Math.max(scale, Math.abs(expected[t]));
            }
            double sign = Math.signum(got[i]) == Math.signum(expected[0]) ? 1 : -1;
            double worst = 0;
            for (int t = 0; t < vocab; t++) {
                worst = Math.max(worst, Math.abs(got[t * num + i] - sign * expected[t]));
            }
            assertThat(worst).as("vector %d, max error relative to %f", i, scale).isLessThan(1e-3 * scale);
        }
    }

    private static Integer[] descending(double[] values) {
        Integer[] order = new Integer[values.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingDouble(i -> -values[i]));
        return order;
    }

    private static DMatrixRMaj dense(NDArray x) {
        float[] data = x.toFloatArray();
        DMatrixRMaj m = new DMatrixRMaj((int) x.getShape().get(0), (int) x.getShape().get(1));
        for (int i = 0; i < data.length; i++) {
            m.data[i] = data[i];
        }
        return m;
    }
}
