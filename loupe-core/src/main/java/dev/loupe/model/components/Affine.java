package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;

/**
 * {@code x·W + b} as one libtorch call ({@code linear}, an {@code addmm}): the bias is the product's
 * starting value instead of a second pass over the output (at one sequence of 128 tokens the MLP's two
 * bias adds took a sixth as long as its two products). Equal to {@code x.matMul(W).add(b)} to float rounding.
 */
final class Affine {
    private final Weight transposed; // W^T [out, in]: a view of W [in, out], the layout linear takes
    private final Weight bias;

    /**
     * @param w the weight [in, out] as the forward multiplies by it
     * @param bias [out]
     */
    Affine(NDArray w, Weight bias) {
        this.transposed = Weight.of(w.transpose());
        this.bias = bias;
    }

    /** x [..., in] → x·W + b [..., out], in x's manager. */
    NDArray apply(NDArray x) {
        return x.getNDArrayInternal().linear(x, transposed.value(), bias.value()).singletonOrThrow();
    }

    /** The weights the product reads (W as the transposed view), for widening float16 ones. */
    Weight weight() {
        return transposed;
    }
}
