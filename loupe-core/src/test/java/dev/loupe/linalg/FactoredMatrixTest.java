package dev.loupe.linalg;

import static dev.loupe.linalg.Dense.assertRelClose;
import static dev.loupe.linalg.Dense.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;
import org.ejml.data.Complex_F64;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** FactoredMatrix against the materialized product, computed densely with DJL and EJML. */
class FactoredMatrixTest {
    private static final double RTOL = 1e-4;

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** A [aShape] @ B [bShape]: no leading dims, one leading dim, and leading dims that broadcast. */
    record Case(String name, long[] aShape, long[] bShape, long[] leading) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("none", new long[] {5, 2}, new long[] {2, 4}, new long[] {}),
                new Case("one leading", new long[] {3, 5, 2}, new long[] {3, 2, 4}, new long[] {3}),
                new Case("broadcast", new long[] {2, 1, 5, 2}, new long[] {3, 2, 4}, new long[] {2, 3}));
    }

    /** Square products (ldim == rdim), for BA and the eigenvalues. */
    static Stream<Case> squareCases() {
        return Stream.of(
                new Case("none", new long[] {4, 3}, new long[] {3, 4}, new long[] {}),
                new Case("one leading", new long[] {3, 4, 2}, new long[] {3, 2, 4}, new long[] {3}),
                new Case("broadcast", new long[] {2, 1, 4, 3}, new long[] {3, 3, 4}, new long[] {2, 3}));
    }

    private FactoredMatrix of(Case c) {
        return new FactoredMatrix(random(manager, 1, c.aShape()), random(manager, 2, c.bShape()));
    }

    /** The dense product, straight from DJL's broadcasting matMul of the factors as given. */
    private NDArray dense(Case c) {
        return random(manager, 1, c.aShape()).matMul(random(manager, 2, c.bShape()));
    }

    private static Shape shape(long[] leading, long... matrix) {
        return new Shape(leading).addAll(new Shape(matrix));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void shapesFollowTheBroadcastLeadingDims(Case c) {
        FactoredMatrix m = of(c);
        assertThat(m.ldim()).isEqualTo(5);
        assertThat(m.mdim()).isEqualTo(2);
        assertThat(m.rdim()).isEqualTo(4);
        assertThat(m.shape()).isEqualTo(shape(c.leading(), 5, 4));
        assertThat(m.leadingShape()).isEqualTo(new Shape(c.leading()));
        assertThat(m.ndim()).isEqualTo(c.leading().length + 2);
        assertThat(m.A().getShape()).isEqualTo(shape(c.leading(), 5, 2));
        assertThat(m.B().getShape()).isEqualTo(shape(c.leading(), 2, 4));
        assertThat(m.pair().getKey()).isSameAs(m.A());
        assertThat(m.pair().getValue()).isSameAs(m.B());
        assertThat(m).hasToString("FactoredMatrix: Shape(" + m.shape() + "), Hidden Dim(2)");
    }

    @Test
    void factorsThatNeedNoBroadcastAreKeptAsGiven() {
        NDArray a = random(manager, 1, 3, 5, 2);
        NDArray b = random(manager, 2, 3, 2, 4);
        FactoredMatrix m = new FactoredMatrix(a, b);
        assertThat(m.A()).isSameAs(a);
        assertThat(m.B()).isSameAs(b);
    }

    @Test
    void mismatchedMdimIsRejectedNamingBothShapes() {
        NDArray a = random(manager, 1, 3, 5, 2);
        NDArray b = random(manager, 2, 3, 3, 4);
        assertThatThrownBy(() -> new FactoredMatrix(a, b))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("mdim")
                .hasMessageContaining("(3, 5, 2)")
                .hasMessageContaining("(3, 3, 4)");
    }

    @Test
    void leadingDimsThatDoNotBroadcastAreRejected() {
        NDArray a = random(manager, 1, 2, 5, 2);
        NDArray b = random(manager, 2, 3, 2, 4);
        assertThatThrownBy(() -> new FactoredMatrix(a, b))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("(2, 5, 2)")
                .hasMessageContaining("(3, 2, 4)");
        assertThatThrownBy(() -> new FactoredMatrix(random(manager, 1, 5), b))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("at least 2 dims");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void abIsTheDenseProduct(Case c) {
        assertRelClose("AB", of(c).AB(), dense(c), 1e-6);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("squareCases")
    void baIsTheReverseProduct(Case c) {
        FactoredMatrix m = of(c);
        assertRelClose("BA", m.BA(), m.B().matMul(m.A()), 1e-6);
        assertThatThrownBy(() -> of(cases().findFirst().orElseThrow()).BA())
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("ldim == rdim");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void transposeSwapsAndTransposesTheFactors(Case c) {
        FactoredMatrix t = of(c).T();
        assertThat(t.shape()).isEqualTo(shape(c.leading(), 4, 5));
        assertThat(t.mdim()).isEqualTo(2);
        assertRelClose("T().AB()", t.AB(), dense(c).swapAxes(-1, -2), 1e-6);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matmulVectorCollapsesTheFactorization(Case c) {
        NDArray v = random(manager, 3, 4);
        NDArray expected = dense(c).matMul(v.expandDims(-1)).squeeze(-1);
        NDArray actual = of(c).matmulVector(v);
        assertThat(actual.getShape()).isEqualTo(shape(c.leading(), 5));
        assertRelClose("M @ v", actual, expected, RTOL);
    }

    @Test
    void matmulKeepsTheInnerDimWhenRdimExceedsMdim() {
        FactoredMatrix m = of(cases().skip(1).findFirst().orElseThrow()); // [3, 5, 2] @ [3, 2, 4]
        NDArray x = random(manager, 3, 4, 6);
        FactoredMatrix product = m.matmul(x);
        assertThat(product.mdim()).as("A @ (B @ X) keeps mdim").isEqualTo(2);
        assertThat(product.A()).isSameAs(m.A());
        assertThat(product.shape()).isEqualTo(new Shape(3, 5, 6));
        assertRelClose("M @ X", product.AB(), m.AB().matMul(x), RTOL);
    }

    @Test
    void matmulMaterializesWhenRdimIsTheSmallerDim() {
        FactoredMatrix m = new FactoredMatrix(random(manager, 1, 5, 4), random(manager, 2, 4, 3));
        NDArray x = random(manager, 3, 2, 3, 2);
        FactoredMatrix product = m.matmul(x);
        assertThat(product.mdim()).as("(AB) @ X has inner dim rdim").isEqualTo(3);
        assertThat(product.B()).isSameAs(x);
        assertThat(product.shape()).isEqualTo(new Shape(2, 5, 2));
        assertRelClose("M @ X", product.AB(), m.AB().matMul(x), RTOL);
    }

    @Test
    void matmulBroadcastsLeadingDims() {
        Case c = cases().skip(2).findFirst().orElseThrow();
        NDArray x = random(manager, 3, 4, 6);
        FactoredMatrix product = of(c).matmul(x);
        assertThat(product.shape()).isEqualTo(new Shape(2, 3, 5, 6));
        assertRelClose("M @ X", product.AB(), dense(c).matMul(x), RTOL);
    }

    @Test
    void matmulRejectsOperandsOfTheWrongShape() {
        FactoredMatrix m = of(cases().findFirst().orElseThrow());
        assertThatThrownBy(() -> m.matmul(random(manager, 3, 5, 6)))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("(5, 6)");
        assertThatThrownBy(() -> m.matmul(random(manager, 3, 4)))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("matmulVector");
        assertThatThrownBy(() -> m.matmulVector(random(manager, 3, 5)))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("rdim=4");
        assertThatThrownBy(() -> m.rmatmulVector(random(manager, 3, 4)))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("ldim=5");
        assertThatThrownBy(() -> m.rmatmul(random(manager, 3, 2, 4)))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("ldim=5");
    }

    @Test
    void matmulByAFactoredMatrixMultipliesTheProducts() {
        FactoredMatrix left = of(cases().skip(1).findFirst().orElseThrow()); // [3, 5, 4], mdim 2
        FactoredMatrix right = new FactoredMatrix(random(manager, 4, 4, 3), random(manager, 5, 3, 6));
        FactoredMatrix product = left.matmul(right);
        assertThat(product.shape()).isEqualTo(new Shape(3, 5, 6));
        assertThat(product.mdim()).as("both steps keep the smallest inner dim").isEqualTo(2);
        assertRelClose("L @ R", product.AB(), left.AB().matMul(right.AB()), RTOL);
    }

    @Test
    void matmulByAFactoredMatrixAlongTheMaterializingPaths() {
        // rdim 3 <= mdim 4, so the first step is FactoredMatrix(AB, other.A).
        FactoredMatrix left = new FactoredMatrix(random(manager, 1, 5, 4), random(manager, 2, 4, 3));
        FactoredMatrix narrow = new FactoredMatrix(random(manager, 3, 3, 2), random(manager, 4, 2, 6));
        FactoredMatrix wide = new FactoredMatrix(random(manager, 5, 3, 6), random(manager, 6, 6, 2));
        FactoredMatrix viaNarrow = left.matmul(narrow); // then (AB @ other.A) @ other.B: the middle A is dropped
        FactoredMatrix viaWide = left.matmul(wide); // then AB @ (other.A @ other.B): the middle A is kept
        assertThat(viaNarrow.mdim()).isEqualTo(2);
        assertThat(viaWide.mdim()).isEqualTo(3);
        assertRelClose("L @ narrow", viaNarrow.AB(), left.AB().matMul(narrow.AB()), RTOL);
        assertRelClose("L @ wide", viaWide.AB(), left.AB().matMul(wide.AB()), RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rmatmulVectorCollapsesTheFactorization(Case c) {
        NDArray v = random(manager, 3, 5);
        NDArray expected = v.expandDims(-2).matMul(dense(c)).squeeze(-2);
        NDArray actual = of(c).rmatmulVector(v);
        assertThat(actual.getShape()).isEqualTo(shape(c.leading(), 4));
        assertRelClose("v @ M", actual, expected, RTOL);
    }

    @Test
    void rmatmulKeepsTheInnerDimWhenLdimExceedsMdim() {
        FactoredMatrix m = of(cases().skip(1).findFirst().orElseThrow()); // [3, 5, 2] @ [3, 2, 4]
        NDArray x = random(manager, 3, 6, 5);
        FactoredMatrix product = m.rmatmul(x);
        assertThat(product.mdim()).as("(X @ A) @ B keeps mdim").isEqualTo(2);
        assertThat(product.B()).isSameAs(m.B());
        assertRelClose("X @ M", product.AB(), x.matMul(m.AB()), RTOL);
    }

    @Test
    void rmatmulMaterializesWhenLdimIsTheSmallerDim() {
        FactoredMatrix m = new FactoredMatrix(random(manager, 1, 3, 4), random(manager, 2, 4, 5));
        NDArray x = random(manager, 3, 6, 3);
        FactoredMatrix product = m.rmatmul(x);
        assertThat(product.mdim()).as("X @ (AB) has inner dim ldim").isEqualTo(3);
        assertThat(product.A()).isSameAs(x);
        assertRelClose("X @ M", product.AB(), x.matMul(m.AB()), RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void timesScalesTheProduct(Case c) {
        FactoredMatrix m = of(c);
        FactoredMatrix scaled = m.times(-2.5f);
        assertThat(scaled.B()).isSameAs(m.B());
        assertRelClose("2.5 M", scaled.AB(), dense(c).mul(-2.5f), 1e-6);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void svdReconstructsTheProductWithTheDenseSingularValues(Case c) {
        FactoredMatrix m = of(c);
        FactoredMatrix.Svd svd = m.svd();
        assertThat(svd.U().getShape()).isEqualTo(shape(c.leading(), 5, 2));
        assertThat(svd.S().getShape()).isEqualTo(shape(c.leading(), 2));
        assertThat(svd.Vh().getShape()).isEqualTo(shape(c.leading(), 4, 2));
        assertThat(m.U()).isSameAs(svd.U());
        assertThat(m.S()).isSameAs(svd.S());
        assertThat(m.Vh()).isSameAs(svd.Vh());

        NDArray ab = dense(c);
        NDArray rebuilt = svd.U().mul(svd.S().expandDims(-2)).matMul(svd.Vh().swapAxes(-1, -2));
        assertRelClose("U diag(S) Vhᵀ", rebuilt, ab, RTOL);

        DMatrixRMaj[] products = Dense.matrices(ab.broadcast(shape(c.leading(), 5, 4)));
        float[] s = svd.S().toFloatArray();
        for (int i = 0; i < products.length; i++) {
            double[] expected = Dense.singularValues(products[i]);
            for (int j = 0; j < 2; j++) {
                assertThat((double) s[i * 2 + j]).as("S[%d][%d]", i, j).isCloseTo(expected[j], within(RTOL * expected[0]));
            }
        }
        assertOrthonormalColumns("U", svd.U());
        assertOrthonormalColumns("Vh", svd.Vh());
    }

    @Test
    void svdHasMinDimSingularValuesWhenMdimIsNotTheSmallest() {
        FactoredMatrix m = new FactoredMatrix(random(manager, 1, 3, 6), random(manager, 2, 6, 4));
        assertThat(m.S().getShape()).isEqualTo(new Shape(3));
        assertThat(m.U().getShape()).isEqualTo(new Shape(3, 3));
        assertThat(m.Vh().getShape()).isEqualTo(new Shape(4, 3));
        NDArray rebuilt = m.U().mul(m.S().expandDims(-2)).matMul(m.Vh().swapAxes(-1, -2));
        assertRelClose("U diag(S) Vhᵀ", rebuilt, m.AB(), RTOL);
    }

    @Test
    void singularValuesAreDescendingForLargerFactors() {
        // EJML returns singular values unordered for some matrices of this size; TransformerLens's are sorted.
        FactoredMatrix m = new FactoredMatrix(random(manager, 1, 8, 9, 5), random(manager, 2, 8, 5, 8));
        float[] s = m.S().toFloatArray();
        DMatrixRMaj[] products = Dense.matrices(m.AB());
        for (int i = 0; i < products.length; i++) {
            double[] expected = Dense.singularValues(products[i]);
            for (int j = 0; j < 5; j++) {
                assertThat((double) s[i * 5 + j]).as("S[%d][%d]", i, j).isCloseTo(expected[j], within(RTOL * expected[0]));
            }
        }
        NDArray rebuilt = m.U().mul(m.S().expandDims(-2)).matMul(m.Vh().swapAxes(-1, -2));
        assertRelClose("U diag(S) Vhᵀ", rebuilt, m.AB(), RTOL);
    }

    @Test
    void svdIsCachedUntilClose() {
        FactoredMatrix m = of(cases().skip(1).findFirst().orElseThrow());
        FactoredMatrix.Svd first = m.svd();
        assertThat(m.svd()).isSameAs(first);
        m.close();
        assertThat(first.U().isReleased()).isTrue();
        assertThat(first.S().isReleased()).isTrue();
        assertThat(first.Vh().isReleased()).isTrue();
        assertThat(m.A().isReleased()).as("the factors are not the matrix's to free").isFalse();
        FactoredMatrix.Svd again = m.svd();
        assertThat(again).isNotSameAs(first);
        assertThat(again.S().isReleased()).isFalse();
    }

    @Test
    void theCachedSvdOutlivesTheScopeThatFirstAskedForIt() {
        FactoredMatrix m = of(cases().skip(1).findFirst().orElseThrow());
        NDArray norm;
        try (NDScope scope = new NDScope()) {
            m.svd();
            norm = m.norm();
        }
        assertThat(norm.isReleased()).as("an ordinary result").isTrue();
        assertThat(m.S().isReleased()).as("the cached SVD").isFalse();
        assertRelClose("norm after the scope", m.norm(), m.AB().norm(new int[] {-2, -1}), RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("squareCases")
    void eigenvaluesAreTheNonzeroEigenvaluesOfTheProduct(Case c) {
        FactoredMatrix m = of(c);
        int mdim = (int) m.mdim();
        NDArray eig = m.eigenvalues();
        assertThat(eig.getShape()).isEqualTo(shape(c.leading(), mdim, 2));
        float[] values = eig.toFloatArray();

        DMatrixRMaj[] products = Dense.matrices(dense(c).broadcast(m.shape()));
        for (int i = 0; i < products.length; i++) {
            // AB has ldim eigenvalues: BA's mdim plus ldim - mdim zeros, which sort last by modulus.
            double[][] expected = denseEigenvalues(products[i]);
            double scale = Math.hypot(expected[0][0], expected[0][1]);
            double trace = CommonOps_DDRM.trace(products[i]);
            double realSum = 0;
            for (int j = 0; j < mdim; j++) {
                float re = values[(i * mdim + j) * 2];
                float im = values[(i * mdim + j) * 2 + 1];
                assertThat((double) re).as("Re λ[%d][%d]", i, j).isCloseTo(expected[j][0], within(1e-4 * scale));
                assertThat((double) im).as("Im λ[%d][%d]", i, j).isCloseTo(expected[j][1], within(1e-4 * scale));
                realSum += re;
            }
            assertThat(realSum).as("trace of matrix %d", i).isCloseTo(trace, within(1e-4 * scale));
        }
    }

    @Test
    void eigenvaluesOfARotationAreAConjugatePair() {
        NDArray a = manager.create(new float[] {1, 0, 0, 1}, new Shape(2, 2));
        NDArray b = manager.create(new float[] {0, -2, 2, 0}, new Shape(2, 2));
        NDArray eig = new FactoredMatrix(a, b).eigenvalues();
        assertThat(eig.getShape()).isEqualTo(new Shape(2, 2));
        assertThat(eig.toFloatArray()).containsExactly(new float[] {0f, 2f, 0f, -2f}, within(1e-6f));
    }

    @Test
    void eigenvaluesNeedASquareProduct() {
        assertThatThrownBy(() -> of(cases().findFirst().orElseThrow()).eigenvalues())
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("ldim == rdim");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void normIsTheFrobeniusNormOfTheProduct(Case c) {
        NDArray norm = of(c).norm();
        assertThat(norm.getShape()).isEqualTo(new Shape(c.leading()));
        assertRelClose("norm", norm, dense(c).norm(new int[] {-2, -1}), RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void collapsingRemovesAnOrthogonalFactor(Case c) {
        FactoredMatrix m = of(c);
        NDArray collapsedL = m.collapseL();
        NDArray collapsedR = m.collapseR();
        assertThat(collapsedL.getShape()).isEqualTo(shape(c.leading(), 2, 4));
        assertThat(collapsedR.getShape()).isEqualTo(shape(c.leading(), 5, 2));
        NDArray ab = dense(c);
        assertRelClose("U @ collapseL", m.U().matMul(collapsedL), ab, RTOL);
        assertRelClose("collapseR @ Vhᵀ", collapsedR.matMul(m.Vh().swapAxes(-1, -2)), ab, RTOL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void makeEvenKeepsTheProductAndSplitsTheSingularValues(Case c) {
        FactoredMatrix m = of(c);
        FactoredMatrix even = m.makeEven();
        assertThat(even.shape()).isEqualTo(m.shape());
        assertThat(even.mdim()).isEqualTo(2);
        assertRelClose("even AB", even.AB(), dense(c), RTOL);
        // Each factor carries √S: AᵀA = diag(S) = B Bᵀ.
        NDArray diagS = m.S().expandDims(-1).mul(manager.eye(2));
        assertRelClose("AᵀA", even.A().swapAxes(-1, -2).matMul(even.A()), diagS, RTOL);
        assertRelClose("B Bᵀ", even.B().matMul(even.B().swapAxes(-1, -2)), diagS, RTOL);
    }

    @Test
    void getCornerIsTheCornerOfTheProduct() {
        Case c = cases().skip(2).findFirst().orElseThrow(); // [2, 3, 5, 4]
        FactoredMatrix m = of(c);
        NDArray ab = dense(c);
        assertRelClose("corner 2", m.getCorner(2), ab.get(":2, :2, :2, :2"), 1e-6);
        assertRelClose("corner 3", m.getCorner(), ab.get(":3, :3, :3, :3"), 1e-6);
        assertThat(m.getCorner().getShape()).isEqualTo(new Shape(2, 3, 3, 3));
        assertThatThrownBy(() -> m.getCorner(0)).isInstanceOf(LoupeException.class);
    }

    @Test
    void getIndexesTheLeadingDims() {
        Case c = cases().skip(2).findFirst().orElseThrow(); // [2, 3, 5, 4]
        FactoredMatrix m = of(c);
        NDArray ab = dense(c);
        FactoredMatrix first = m.get(1);
        assertThat(first.shape()).isEqualTo(new Shape(3, 5, 4));
        assertRelClose("m[1]", first.AB(), ab.get(1), 1e-6);
        FactoredMatrix single = m.get(1, -1);
        assertThat(single.shape()).isEqualTo(new Shape(5, 4));
        assertRelClose("m[1, -1]", single.AB(), ab.get(1, 2), 1e-6);
        assertThatThrownBy(() -> m.get(0, 0, 0))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("leading dims");
        assertThatThrownBy(() -> m.get(0, 3))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("out of range");
    }

    @Test
    void unsqueezeInsertsALeadingDim() {
        Case c = cases().skip(1).findFirst().orElseThrow(); // [3, 5, 4]
        FactoredMatrix m = of(c);
        NDArray ab = dense(c);
        assertThat(m.unsqueeze(0).shape()).isEqualTo(new Shape(1, 3, 5, 4));
        assertThat(m.unsqueeze(1).shape()).isEqualTo(new Shape(3, 1, 5, 4));
        assertThat(m.unsqueeze(-1).shape()).isEqualTo(new Shape(3, 1, 5, 4));
        assertThat(m.unsqueeze(-2).shape()).isEqualTo(new Shape(1, 3, 5, 4));
        assertRelClose("unsqueeze(0)", m.unsqueeze(0).AB(), ab.expandDims(0), 1e-6);
        assertThatThrownBy(() -> m.unsqueeze(2)).isInstanceOf(LoupeException.class);
        assertThatThrownBy(() -> m.unsqueeze(-3)).isInstanceOf(LoupeException.class);
    }

    @Test
    void everyResultBelongsToTheManagerOfA() {
        try (NDManager forA = manager.newSubManager();
                NDManager forB = manager.newSubManager();
                NDManager other = manager.newSubManager()) {
            NDArray a = random(forA, 1, 2, 1, 4, 2);
            NDArray b = random(forB, 2, 3, 2, 4);
            FactoredMatrix m = new FactoredMatrix(a, b);
            assertThat(m.B().getManager()).as("the broadcast B").isSameAs(forA);
            NDArray v = random(other, 3, 4);
            NDArray x = random(other, 4, 4, 6);
            NDArray[] results = {
                m.AB(), m.BA(), m.T().A(), m.T().B(), m.matmulVector(v), m.rmatmulVector(v), m.matmul(x).B(),
                m.rmatmul(x.swapAxes(-1, -2)).A(), m.times(2f).A(), m.U(), m.S(), m.Vh(), m.eigenvalues(), m.norm(),
                m.collapseL(), m.collapseR(), m.makeEven().A(), m.makeEven().B(), m.getCorner(2), m.get(1).B(),
                m.unsqueeze(0).B()
            };
            for (int i = 0; i < results.length; i++) {
                assertThat(results[i].getManager()).as("result %d", i).isSameAs(forA);
            }
        }
    }

    /** XᵀX = I for x [..., n, k]: the columns are orthonormal. */
    private void assertOrthonormalColumns(String what, NDArray x) {
        Shape shape = x.getShape();
        long k = shape.get(shape.dimension() - 1);
        NDArray gram = x.swapAxes(-1, -2).matMul(x);
        assertRelClose(what + "ᵀ" + what, gram, manager.eye((int) k).broadcast(gram.getShape()), RTOL);
    }

    /** EJML's eigenvalues of m, by descending modulus, as (real, imaginary). */
    private static double[][] denseEigenvalues(DMatrixRMaj m) {
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m.numRows, false);
        assertThat(eig.decompose(m.copy())).as("dense eig converged").isTrue();
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
