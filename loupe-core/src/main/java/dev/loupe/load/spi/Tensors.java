package dev.loupe.load.spi;

import ai.djl.ndarray.NDArray;

/** Small tensor helpers for weight conversion. */
public final class Tensors {
    private Tensors() {}

    /**
     * A C-contiguous copy of a (possibly strided) view, owned by the view's manager. Flattening a
     * view that is not contiguous makes libtorch copy it in row-major order.
     */
    public static NDArray contiguous(NDArray view) {
        return view.flatten().reshape(view.getShape());
    }
}
