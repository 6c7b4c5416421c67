package dev.loupe.linalg;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import java.util.Arrays;

/**
 * Composition scores between factored matrices, as TransformerLens's {@code utils.composition_scores}
 * (used by {@code HookedTransformer.all_composition_scores} for Q/K/V composition between heads).
 */
public final class Composition {
    private Composition() {}

    /**
     * How much {@code right} reads what {@code left} writes: {@code ‖L R‖_F / (‖L‖_F ‖R‖_F)}, with
     * broadcast_dims=True: every leading index of left is paired with every leading index of right.
     *
     * <p>Computed from {@code left.collapseL()} [..., k, rdim] and {@code right.collapseR()} [..., ldim,
     * k] (the orthogonal factors U of left and Vhᵀ of right do not change Frobenius norms), so neither
     * product is ever formed. The result is attached to the manager of left's A.
     *
     * @param left [*left_leading, l_ldim, l_rdim]
     * @param right [*right_leading, r_ldim, r_rdim] with r_ldim == l_rdim
     * @return [*left_leading, *right_leading] (a scalar when neither has leading dims)
     * @throws LoupeException if left.rdim != right.ldim
     */
    public static NDArray scores(FactoredMatrix left, FactoredMatrix right) {
        return scores(left, right, true);
    }

    /**
     * {@link #scores(FactoredMatrix, FactoredMatrix)} with TransformerLens's {@code broadcast_dims}
     * switch: with {@code false}, the leading dims of left and right broadcast against each other
     * instead of being paired all-with-all.
     *
     * @return [*left_leading, *right_leading] when broadcasting dims, else broadcast(left_leading,
     *     right_leading)
     * @throws LoupeException if left.rdim != right.ldim, or (without broadcast_dims) the leading dims
     *     do not broadcast
     */
    public static NDArray scores(FactoredMatrix left, FactoredMatrix right, boolean broadcastDims) {
        if (left.rdim() != right.ldim()) {
            throw new LoupeException("Composition scores need left.rdim == right.ldim, but left has shape "
                    + left.shape() + " and right has shape " + right.shape());
        }
        Shape leftLeading = left.leadingShape();
        Shape rightLeading = right.leadingShape();
        if (!broadcastDims) {
            FactoredMatrix.broadcastShapes(leftLeading, rightLeading,
                    "left has shape " + left.shape() + ", right has shape " + right.shape());
        }
        try (NDArray collapsedLeft = left.collapseL();
                NDArray collapsedRight = right.collapseR();
                NDArray leftNorms = frobenius(collapsedLeft);
                NDArray rightNorms = frobenius(collapsedRight)) {
            if (!broadcastDims) {
                return ratio(collapsedLeft, leftNorms, collapsedRight, rightNorms);
            }
            // Trailing 1s after left's leading dims make matMul and division pair every left index with
            // every right index, which TransformerLens gets by unsqueezing both sides.
            long[] ones = new long[rightLeading.dimension()];
            Arrays.fill(ones, 1);
            Shape matrix = collapsedLeft.getShape().slice(leftLeading.dimension());
            try (NDArray spreadLeft = collapsedLeft.reshape(leftLeading.addAll(new Shape(ones)).addAll(matrix));
                    NDArray spreadNorms = leftNorms.reshape(leftLeading.addAll(new Shape(ones)))) {
                return ratio(spreadLeft, spreadNorms, collapsedRight, rightNorms);
            }
        }
    }

    /** ‖L R‖_F / ‖L‖_F / ‖R‖_F, broadcasting leading dims. */
    private static NDArray ratio(NDArray l, NDArray lNorms, NDArray r, NDArray rNorms) {
        try (NDArray product = l.matMul(r);
                NDArray productNorms = frobenius(product);
                NDArray perLeft = productNorms.div(lNorms)) {
            return perLeft.div(rNorms);
        }
    }

    /** The Frobenius norm over the last two dims: [..., m, n] to [...]. */
    private static NDArray frobenius(NDArray x) {
        return x.norm(new int[] {-2, -1});
    }
}
