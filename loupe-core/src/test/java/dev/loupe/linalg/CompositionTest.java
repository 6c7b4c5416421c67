package dev.loupe.linalg;

import static dev.loupe.linalg.Dense.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Composition scores against ‖L R‖_F / (‖L‖_F ‖R‖_F) on the materialized products. */
class CompositionTest {
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** An OV-like circuit [*leading, d_model=6, d_model=6] of rank d_head=3. */
    private FactoredMatrix circuit(long seed, long... leading) {
        Shape lead = new Shape(leading);
        return new FactoredMatrix(random(manager, seed, lead.addAll(new Shape(6, 3)).getShape()),
                random(manager, seed + 1, lead.addAll(new Shape(3, 6)).getShape()));
    }

    @Test
    void everyLeftIndexIsPairedWithEveryRightIndex() {
        FactoredMatrix left = circuit(1, 2, 3);
        FactoredMatrix right = circuit(3, 4);
        NDArray scores = Composition.scores(left, right);
        assertThat(scores.getShape()).isEqualTo(new Shape(2, 3, 4));
        assertThat(scores.getManager()).isSameAs(left.A().getManager());

        DMatrixRMaj[] l = Dense.matrices(left.AB());
        DMatrixRMaj[] r = Dense.matrices(right.AB());
        float[] actual = scores.toFloatArray();
        for (int i = 0; i < l.length; i++) {
            for (int j = 0; j < r.length; j++) {
                assertThat((double) actual[i * r.length + j]).as("score[%d][%d]", i, j)
                        .isCloseTo(denseScore(l[i], r[j]), within(1e-5));
            }
        }
    }

    @Test
    void singleMatricesGiveAScalar() {
        FactoredMatrix left = circuit(1);
        FactoredMatrix right = circuit(3);
        NDArray score = Composition.scores(left, right);
        assertThat(score.getShape()).isEqualTo(new Shape());
        double expected = denseScore(Dense.matrices(left.AB())[0], Dense.matrices(right.AB())[0]);
        assertThat((double) score.getFloat()).isCloseTo(expected, within(1e-5));
    }

    @Test
    void withoutBroadcastDimsTheLeadingDimsAlign() {
        FactoredMatrix left = circuit(1, 3);
        FactoredMatrix right = circuit(3, 3);
        NDArray scores = Composition.scores(left, right, false);
        assertThat(scores.getShape()).isEqualTo(new Shape(3));
        DMatrixRMaj[] l = Dense.matrices(left.AB());
        DMatrixRMaj[] r = Dense.matrices(right.AB());
        float[] actual = scores.toFloatArray();
        for (int i = 0; i < 3; i++) {
            assertThat((double) actual[i]).as("score[%d]", i).isCloseTo(denseScore(l[i], r[i]), within(1e-5));
        }
        assertThatThrownBy(() -> Composition.scores(left, circuit(3, 2), false))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("do not broadcast");
    }

    @Test
    void orthogonalSubspacesDoNotComposeAndAProjectionComposesWithItself() {
        // Orthogonal subspaces do not compose: L writes to the first coordinates, R reads the last.
        NDArray e = manager.eye(4);
        FactoredMatrix left = new FactoredMatrix(e.get(":, :2"), e.get(":2, :"));
        FactoredMatrix right = new FactoredMatrix(e.get(":, 2:"), e.get("2:, :"));
        assertThat(Composition.scores(left, right).getFloat()).isCloseTo(0f, within(1e-7f));
        // A projection composed with itself: ‖P‖ / ‖P‖² = 1 / √2 for a rank-2 projection.
        assertThat(Composition.scores(left, left).getFloat()).isCloseTo((float) (1 / Math.sqrt(2)), within(1e-6f));
    }

    @Test
    void mismatchedInnerDimsAreRejected() {
        FactoredMatrix left = circuit(1, 2);
        FactoredMatrix right = new FactoredMatrix(random(manager, 5, 5, 3), random(manager, 6, 3, 6));
        assertThatThrownBy(() -> Composition.scores(left, right))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("left.rdim == right.ldim")
                .hasMessageContaining("(2, 6, 6)")
                .hasMessageContaining("(5, 6)");
    }

    /** ‖L R‖_F / (‖L‖_F ‖R‖_F) in double precision. */
    private static double denseScore(DMatrixRMaj l, DMatrixRMaj r) {
        DMatrixRMaj product = new DMatrixRMaj(l.numRows, r.numCols);
        CommonOps_DDRM.mult(l, r, product);
        return Dense.frobenius(product) / (Dense.frobenius(l) * Dense.frobenius(r));
    }
}
