package dev.loupe.linalg;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.Pair;
import dev.loupe.LoupeException;
import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * A matrix kept as the product of two factors, {@code M = A @ B}, as TransformerLens's
 * {@code FactoredMatrix}: A [..., ldim, mdim], B [..., mdim, rdim], so that a low-rank matrix such as a
 * head's OV circuit {@code W_V @ W_O} [head_index, d_model, d_model] costs only its factors. Leading
 * dims broadcast as {@code torch.matmul} does. The SVD, norm and eigenvalues are computed from the
 * factors, never from the full product.
 *
 * <p>Memory: the matrix does not own A and B. Every array its methods create (products, broadcast
 * factors, the SVD, the factors of the matrices they return) is attached to the manager of A, whatever
 * the manager of the other operand; close that manager, or use an {@code NDScope}, to free them. The
 * cached SVD ({@link #svd()}, {@link #U()}, {@link #S()}, {@link #Vh()}) escapes any {@code NDScope}:
 * {@link #close()} frees it, and frees nothing else.
 *
 * <pre>{@code
 * FactoredMatrix ov = new FactoredMatrix(wV, wO);     // [n_heads, d_model, d_head] @ [n_heads, d_head, d_model]
 * NDArray s = ov.S();                                 // [n_heads, d_head]
 * NDArray frob = ov.norm();                           // [n_heads]
 * }</pre>
 */
public final class FactoredMatrix implements AutoCloseable {
    private final NDArray a;
    private final NDArray b;
    private final NDManager manager;
    private final Shape leading;
    private final long ldim;
    private final long mdim;
    private final long rdim;
    private Svd cachedSvd;

    /**
     * The singular value decomposition {@code M = U diag(S) Vhᵀ}, following TransformerLens: {@code Vh}
     * holds the right singular vectors as columns and is <em>not</em> transposed (newer TransformerLens
     * calls it {@code V}, keeping {@code Vh} as a deprecated alias). The singular values are descending. With
     * k = min(ldim, mdim, rdim), which is mdim for the usual low-rank factorization: U [..., ldim, k], S [..., k],
     * Vh [..., rdim, k].
     */
    public record Svd(NDArray U, NDArray S, NDArray Vh) {}

    /**
     * Factors {@code A @ B}. Leading dims broadcast; a factor that must grow to the common leading
     * shape is replaced by a broadcast view (attached to A's manager).
     *
     * @param A [..., ldim, mdim]
     * @param B [..., mdim, rdim]
     * @throws LoupeException if either is not at least a matrix, the mdims differ, or the leading dims
     *     do not broadcast; the message names both shapes
     */
    public FactoredMatrix(NDArray A, NDArray B) {
        Shape sa = A.getShape();
        Shape sb = B.getShape();
        if (sa.dimension() < 2 || sb.dimension() < 2) {
            throw new LoupeException("FactoredMatrix factors must have at least 2 dims, but A has shape " + sa
                    + " and B has shape " + sb);
        }
        if (dim(sa, -1) != dim(sb, -2)) {
            throw new LoupeException("FactoredMatrix factors must match on the inner dimension (mdim): A has shape "
                    + sa + " (mdim " + dim(sa, -1) + ") but B has shape " + sb + " (mdim " + dim(sb, -2) + ")");
        }
        this.manager = A.getManager();
        this.ldim = dim(sa, -2);
        this.mdim = dim(sa, -1);
        this.rdim = dim(sb, -1);
        this.leading = broadcastShapes(leadingOf(sa), leadingOf(sb), "A has shape " + sa + ", B has shape " + sb);
        this.a = broadcastTo(A, leading.addAll(new Shape(ldim, mdim)));
        this.b = broadcastTo(B, leading.addAll(new Shape(mdim, rdim)));
    }

    /** The left factor, broadcast to the common leading dims: [..., ldim, mdim]. */
    public NDArray A() {
        return a;
    }

    /** The right factor, broadcast to the common leading dims: [..., mdim, rdim]. */
    public NDArray B() {
        return b;
    }

    /** Both factors, (A [..., ldim, mdim], B [..., mdim, rdim]), as TransformerLens's {@code pair}. */
    public Pair<NDArray, NDArray> pair() {
        return new Pair<>(a, b);
    }

    /** Rows of the product. */
    public long ldim() {
        return ldim;
    }

    /** The inner (hidden) dimension shared by the factors. */
    public long mdim() {
        return mdim;
    }

    /** Columns of the product. */
    public long rdim() {
        return rdim;
    }

    /** The shape of the product: [..., ldim, rdim]. */
    public Shape shape() {
        return leading.addAll(new Shape(ldim, rdim));
    }

    /** The leading (batch) dims alone, empty for a single matrix. */
    public Shape leadingShape() {
        return leading;
    }

    /** The number of dims of the product, leading dims included. */
    public int ndim() {
        return leading.dimension() + 2;
    }

    /** The product, materialized (expensive for large ldim and rdim): [..., ldim, rdim]. */
    public NDArray AB() {
        return a.matMul(b);
    }

    /**
     * The reverse product {@code B @ A}: [..., mdim, mdim].
     *
     * @throws LoupeException unless ldim == rdim
     */
    public NDArray BA() {
        if (ldim != rdim) {
            throw new LoupeException("BA needs ldim == rdim, but this FactoredMatrix has shape " + shape());
        }
        return own(b.matMul(a));
    }

    /** The transpose, {@code FactoredMatrix(Bᵀ, Aᵀ)}: [..., rdim, ldim]. */
    public FactoredMatrix T() {
        return new FactoredMatrix(own(b.swapAxes(-1, -2)), own(a.swapAxes(-1, -2)));
    }

    /**
     * {@code M @ X} as a FactoredMatrix, associating the cheaper way as TransformerLens does:
     * {@code FactoredMatrix(A, B @ X)} when rdim > mdim (the inner dim stays mdim), else
     * {@code FactoredMatrix(AB, X)} (the inner dim becomes rdim, and X itself is the new B).
     *
     * @param other X [..., rdim, k]
     * @return [..., ldim, k]
     * @throws LoupeException if X is not at least a matrix with rdim rows (for a vector, see
     *     {@link #matmulVector(NDArray)})
     */
    public FactoredMatrix matmul(NDArray other) {
        Shape shape = other.getShape();
        if (shape.dimension() < 2 || dim(shape, -2) != rdim) {
            throw new LoupeException("FactoredMatrix @ matrix needs a matrix [..., rdim=" + rdim + ", k], but got shape "
                    + shape + " (for a vector use matmulVector); this FactoredMatrix has shape " + shape());
        }
        if (rdim > mdim) {
            return new FactoredMatrix(a, own(b.matMul(other)));
        }
        return new FactoredMatrix(AB(), other);
    }

    /**
     * {@code M @ other} for two factored matrices: {@code (M @ other.A) @ other.B}, each step
     * associating the cheaper way.
     *
     * @param other [..., rdim, k]
     * @return [..., ldim, k]
     */
    public FactoredMatrix matmul(FactoredMatrix other) {
        FactoredMatrix middle = matmul(other.a);
        FactoredMatrix product = middle.matmul(other.b);
        // The middle step's fresh factors are garbage unless the product kept them.
        for (NDArray factor : new NDArray[] {middle.a, middle.b}) {
            if (factor != a && factor != b && factor != other.a && factor != product.a && factor != product.b) {
                factor.close();
            }
        }
        return product;
    }

    /**
     * {@code M @ v} for a vector, collapsed without forming M: {@code A @ (B @ v)}.
     *
     * @param vector v [rdim]
     * @return [..., ldim]
     * @throws LoupeException if {@code vector} is not a vector of length rdim
     */
    public NDArray matmulVector(NDArray vector) {
        Shape shape = vector.getShape();
        if (shape.dimension() != 1 || shape.get(0) != rdim) {
            throw new LoupeException("FactoredMatrix @ vector needs a vector [rdim=" + rdim + "], but got shape " + shape
                    + " (for a matrix use matmul); this FactoredMatrix has shape " + shape());
        }
        try (NDArray column = vector.expandDims(-1);
                NDArray bv = b.matMul(column);
                NDArray abv = a.matMul(bv)) {
            return abv.squeeze(-1);
        }
    }

    /**
     * {@code X @ M} as a FactoredMatrix, associating the cheaper way as TransformerLens's
     * {@code __rmatmul__}: {@code FactoredMatrix(X @ A, B)} when ldim > mdim (the inner dim stays mdim),
     * else {@code FactoredMatrix(X, AB)} (the inner dim becomes ldim; X itself is the new A, so that
     * matrix's own results go to X's manager).
     *
     * @param left X [..., k, ldim]
     * @return [..., k, rdim]
     * @throws LoupeException if X is not at least a matrix with ldim columns (for a vector, see
     *     {@link #rmatmulVector(NDArray)})
     */
    public FactoredMatrix rmatmul(NDArray left) {
        Shape shape = left.getShape();
        if (shape.dimension() < 2 || dim(shape, -1) != ldim) {
            throw new LoupeException("matrix @ FactoredMatrix needs a matrix [..., k, ldim=" + ldim + "], but got shape "
                    + shape + " (for a vector use rmatmulVector); this FactoredMatrix has shape " + shape());
        }
        if (ldim > mdim) {
            return new FactoredMatrix(own(left.matMul(a)), b);
        }
        return new FactoredMatrix(left, AB());
    }

    /**
     * {@code v @ M} for a vector, collapsed without forming M: {@code (v @ A) @ B}.
     *
     * @param vector v [ldim]
     * @return [..., rdim]
     * @throws LoupeException if {@code vector} is not a vector of length ldim
     */
    public NDArray rmatmulVector(NDArray vector) {
        Shape shape = vector.getShape();
        if (shape.dimension() != 1 || shape.get(0) != ldim) {
            throw new LoupeException("vector @ FactoredMatrix needs a vector [ldim=" + ldim + "], but got shape " + shape
                    + " (for a matrix use rmatmul); this FactoredMatrix has shape " + shape());
        }
        try (NDArray row = vector.expandDims(-2);
                NDArray va = row.matMul(a);
                NDArray vab = va.matMul(b)) {
            return own(vab.squeeze(-2));
        }
    }

    /** {@code scalar * M}, by scaling A. */
    public FactoredMatrix times(float scalar) {
        return new FactoredMatrix(a.mul(scalar), b);
    }

    /**
     * The SVD, computed once from the factors (never from AB) in double precision and cached until
     * {@link #close()}. Per leading index: svd(A) = Ua Sa Vaᵀ, svd(B) = Ub Sb Vbᵀ, then the SVD of the
     * small middle matrix diag(Sa) Vaᵀ Ub diag(Sb) = Um Sm Vmᵀ gives U = Ua Um, S = Sm, Vh = Vb Vm.
     * Results are float32, attached to A's manager (an enclosing {@code NDScope} does not free them), and
     * shared by every caller: do not close them.
     */
    public synchronized Svd svd() {
        if (cachedSvd == null) {
            DMatrixRMaj[] as = DenseBatch.split(a);
            DMatrixRMaj[] bs = DenseBatch.split(b);
            DMatrixRMaj[] us = new DMatrixRMaj[as.length];
            DMatrixRMaj[] vs = new DMatrixRMaj[as.length];
            double[][] ss = new double[as.length][];
            for (int i = 0; i < as.length; i++) {
                MatrixDecompositions.Thin thin = MatrixDecompositions.productSvd(as[i], bs[i]);
                us[i] = thin.u();
                ss[i] = thin.s();
                vs[i] = thin.v();
            }
            cachedSvd = new Svd(DenseBatch.stack(manager, leading, us), DenseBatch.stack(manager, leading, ss),
                    DenseBatch.stack(manager, leading, vs));
            // The cache belongs to this matrix, not to whatever NDScope the first caller happened to be in.
            NDScope.unregister(cachedSvd.U(), cachedSvd.S(), cachedSvd.Vh());
        }
        return cachedSvd;
    }

    /** Left singular vectors as columns: [..., ldim, k] (see {@link Svd}). */
    public NDArray U() {
        return svd().U();
    }

    /** Singular values, descending: [..., k] (see {@link Svd}). */
    public NDArray S() {
        return svd().S();
    }

    /** Right singular vectors as columns, not transposed: [..., rdim, k] (see {@link Svd}). */
    public NDArray Vh() {
        return svd().Vh();
    }

    /**
     * The eigenvalues of BA, which are the nonzero eigenvalues of AB (if BAv = λv then AB(Av) = λAv),
     * computed in double precision: [..., mdim, 2] float32 with (real, imaginary) in the last dim.
     * TransformerLens returns a complex tensor [..., mdim]; DJL's PyTorch engine cannot do complex
     * arithmetic, hence the pair. Ordered by descending modulus, then real part, then imaginary part
     * (a conjugate pair lists +i first); torch promises no order.
     *
     * @throws LoupeException unless ldim == rdim
     */
    public NDArray eigenvalues() {
        if (ldim != rdim) {
            throw new LoupeException("eigenvalues needs ldim == rdim (they are those of BA), but this FactoredMatrix"
                    + " has shape " + shape());
        }
        DMatrixRMaj[] as = DenseBatch.split(a);
        DMatrixRMaj[] bs = DenseBatch.split(b);
        DMatrixRMaj[] values = new DMatrixRMaj[as.length];
        for (int i = 0; i < as.length; i++) {
            DMatrixRMaj ba = new DMatrixRMaj((int) mdim, (int) mdim);
            CommonOps_DDRM.mult(bs[i], as[i], ba);
            values[i] = new DMatrixRMaj(MatrixDecompositions.eigenvalues(ba));
        }
        return DenseBatch.stack(manager, leading, values);
    }

    /** The Frobenius norm, {@code sqrt(Σ S²)}: shape = the leading dims (a scalar when there are none). */
    public NDArray norm() {
        try (NDArray squares = S().square()) {
            try (NDArray sum = squares.sum(new int[] {-1})) {
                return sum.sqrt();
            }
        }
    }

    /**
     * The matrix with its left orthogonal factor U removed, {@code diag(S) Vhᵀ}: [..., k, rdim]; then
     * {@code M = U @ collapseL()}.
     */
    public NDArray collapseL() {
        try (NDArray column = S().expandDims(-1);
                NDArray vt = Vh().swapAxes(-1, -2)) {
            return column.mul(vt);
        }
    }

    /**
     * The matrix with its right orthogonal factor Vhᵀ removed, {@code U diag(S)}: [..., ldim, k]; then
     * {@code M = collapseR() @ Vhᵀ}.
     */
    public NDArray collapseR() {
        try (NDArray row = S().expandDims(-2)) {
            return U().mul(row);
        }
    }

    /**
     * The same matrix refactored evenly, {@code FactoredMatrix(U diag(√S), diag(√S) Vhᵀ)}: each factor
     * carries half of every singular value, A has orthogonal columns and B orthogonal rows. A [..., ldim,
     * k], B [..., k, rdim].
     */
    public FactoredMatrix makeEven() {
        try (NDArray root = S().sqrt();
                NDArray row = root.expandDims(-2);
                NDArray column = root.expandDims(-1);
                NDArray vt = Vh().swapAxes(-1, -2)) {
            return new FactoredMatrix(U().mul(row), column.mul(vt));
        }
    }

    /** {@link #getCorner(int)} with TransformerLens's default k = 3. */
    public NDArray getCorner() {
        return getCorner(3);
    }

    /**
     * The top-left corner of AB, computed from the corners of A and B: the first k of every dim, leading
     * dims included (fewer where a dim is shorter), as TransformerLens's {@code get_corner}.
     *
     * @param k how many of each dim to keep, at least 1
     * @return [min(k, d) for each dim d of {@link #shape()}]
     */
    public NDArray getCorner(int k) {
        if (k < 1) {
            throw new LoupeException("getCorner needs k >= 1, but got " + k);
        }
        NDIndex aCorner = new NDIndex();
        NDIndex bCorner = new NDIndex();
        for (long size : leading.getShape()) {
            aCorner.addSliceDim(0, Math.min(k, size));
            bCorner.addSliceDim(0, Math.min(k, size));
        }
        aCorner.addSliceDim(0, Math.min(k, ldim)).addAllDim();
        bCorner.addAllDim().addSliceDim(0, Math.min(k, rdim));
        try (NDArray ac = a.get(aCorner);
                NDArray bc = b.get(bCorner)) {
            return own(ac.matMul(bc));
        }
    }

    /**
     * Indexes the leading dims, as TransformerLens's {@code __getitem__} does with integers (negative ones
     * count from the end): {@code ov.get(3)} is head 3's matrix. Unlike TransformerLens, indices never
     * reach ldim or rdim.
     *
     * @param leadingIndices at most one per leading dim
     * @return the selected matrices, sharing memory with A and B
     * @throws LoupeException if there are more indices than leading dims, or one is out of range
     */
    public FactoredMatrix get(long... leadingIndices) {
        if (leadingIndices.length > leading.dimension()) {
            throw new LoupeException("FactoredMatrix.get indexes only the leading dims " + leading + ", but got "
                    + leadingIndices.length + " indices " + Arrays.toString(leadingIndices));
        }
        for (int i = 0; i < leadingIndices.length; i++) {
            long size = leading.get(i);
            if (leadingIndices[i] < -size || leadingIndices[i] >= size) {
                throw new LoupeException("FactoredMatrix.get: index " + leadingIndices[i] + " is out of range for"
                        + " leading dim " + i + " of size " + size + " (shape " + shape() + ")");
            }
        }
        NDIndex index = new NDIndex(leadingIndices);
        return new FactoredMatrix(a.get(index), own(b.get(index)));
    }

    /**
     * Inserts a dim of size 1 among the leading dims, as {@code torch.unsqueeze} would on a tensor of
     * the leading shape: 0 puts it first, -1 after the last leading dim.
     *
     * @param dim in [-(n+1), n] for n leading dims
     * @return [..., 1, ..., ldim, rdim]
     */
    public FactoredMatrix unsqueeze(int dim) {
        int n = leading.dimension();
        if (dim < -(n + 1) || dim > n) {
            throw new LoupeException("FactoredMatrix.unsqueeze: dim " + dim + " is out of range [" + -(n + 1) + ", " + n
                    + "] for leading dims " + leading);
        }
        int at = dim < 0 ? dim + n + 1 : dim;
        return new FactoredMatrix(own(a.expandDims(at)), own(b.expandDims(at)));
    }

    /** Frees the cached SVD; the matrix stays usable and recomputes it if asked again. */
    @Override
    public synchronized void close() {
        if (cachedSvd != null) {
            cachedSvd.U().close();
            cachedSvd.S().close();
            cachedSvd.Vh().close();
            cachedSvd = null;
        }
    }

    @Override
    public String toString() {
        return "FactoredMatrix: Shape(" + shape() + "), Hidden Dim(" + mdim + ")";
    }

    /** Moves an array this matrix created into A's manager, so that all of its results live together. */
    private NDArray own(NDArray created) {
        if (created.getManager() != manager) {
            created.attach(manager);
        }
        return created;
    }

    private NDArray broadcastTo(NDArray x, Shape target) {
        return Arrays.equals(x.getShape().getShape(), target.getShape()) ? x : own(x.broadcast(target));
    }

    /** Size of dim {@code i} of {@code shape}, negative counting from the end (DJL's Shape.get does not). */
    private static long dim(Shape shape, int i) {
        return shape.get(i < 0 ? shape.dimension() + i : i);
    }

    private static Shape leadingOf(Shape shape) {
        return shape.slice(0, shape.dimension() - 2);
    }

    /**
     * The broadcast of two leading shapes, by torch's rule: align from the right; sizes must match or
     * one of them be 1.
     */
    static Shape broadcastShapes(Shape x, Shape y, String what) {
        int n = Math.max(x.dimension(), y.dimension());
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long xs = i < n - x.dimension() ? 1 : x.get(i - (n - x.dimension()));
            long ys = i < n - y.dimension() ? 1 : y.get(i - (n - y.dimension()));
            if (xs != ys && xs != 1 && ys != 1) {
                throw new LoupeException("Leading dims " + x + " and " + y + " do not broadcast (" + what + ")");
            }
            out[i] = xs == 1 ? ys : xs;
        }
        return new Shape(out);
    }
}
