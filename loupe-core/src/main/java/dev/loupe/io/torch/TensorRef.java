package dev.loupe.io.torch;

import java.util.Arrays;

/**
 * A tensor as {@code torch._utils._rebuild_tensor_v2} describes it: a strided view of a storage.
 * Several tensors may view one storage (a transpose, a row of a matrix).
 *
 * @param storage the storage viewed
 * @param offset the index, in elements, of the view's first element in the storage
 * @param size the view's shape; empty for a 0-d scalar
 * @param stride the step in elements along each dimension, one per dimension of {@code size}
 */
record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
    /** The number of elements, which {@link RestrictedUnpickler} has checked fits in a long. */
    long numel() {
        long n = 1;
        for (long s : size) {
            n *= s;
        }
        return n;
    }

    /** True where the view is the C-order (row-major) layout, so its elements are one run of storage. */
    boolean contiguous() {
        long expected = 1;
        for (int d = size.length - 1; d >= 0; d--) {
            // A dimension of size 1 is never stepped along, so its stride does not matter (torch agrees).
            if (size[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= size[d];
        }
        return true;
    }

    /**
     * The index, relative to {@link #offset}, of the last storage element the view reads; only
     * meaningful when {@link #numel()} is positive. Strides are non-negative, so it is the sum of
     * {@code (size - 1) * stride}.
     */
    long lastIndex() {
        long last = 0;
        for (int d = 0; d < size.length; d++) {
            last = Math.addExact(last, Math.multiplyExact(size[d] - 1, stride[d]));
        }
        return last;
    }

    /** Human-readable layout for error messages, e.g. {@code float32 [3, 2] stride [1, 3] offset 0}. */
    String describe() {
        return storage.type().dtype + " " + Arrays.toString(size) + " stride " + Arrays.toString(stride)
                + " offset " + offset;
    }
}
