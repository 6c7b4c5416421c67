package dev.loupe.io.safetensors;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor's entry in a safetensors header.
 *
 * @param name the tensor's name
 * @param dtype the dtype as spelled in the file, e.g. {@code "F32"} or {@code "BF16"}
 * @param shape the dimensions, outermost first; empty for a scalar
 * @param begin where the tensor's bytes start, relative to the start of the data region (the byte
 *     after the header)
 * @param end where the tensor's bytes end (exclusive), relative to the start of the data region
 */
public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {

    /**
     * Creates an entry; the shape is copied so the record stays immutable.
     *
     * @param name the tensor's name
     * @param dtype the dtype as spelled in the file
     * @param shape the dimensions, outermost first
     * @param begin the start of the tensor's bytes, relative to the data region
     * @param end the end (exclusive) of the tensor's bytes, relative to the data region
     * @throws NullPointerException if name, dtype or shape is null
     */
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = Objects.requireNonNull(shape, "shape").clone();
    }

    /**
     * Returns the dimensions, outermost first.
     *
     * @return a copy of the shape, so callers cannot change this entry
     */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Returns the number of dimensions.
     *
     * @return the rank; 0 for a scalar
     */
    public int rank() {
        return shape.length;
    }

    /**
     * Returns the number of elements: the product of the dimensions, 1 for a scalar.
     *
     * @return the element count
     * @throws ArithmeticException if the product overflows a long
     */
    public long numel() {
        long n = 1;
        for (long dim : shape) {
            n = Math.multiplyExact(n, dim);
        }
        return n;
    }

    /**
     * Returns the number of bytes the tensor takes in the file.
     *
     * @return {@code end - begin}
     */
    public long byteSize() {
        return end - begin;
    }

    /** Compares the shape by content, which a record does not do for array components. */
    @Override
    public boolean equals(Object other) {
        return other instanceof TensorInfo that
                && name.equals(that.name)
                && dtype.equals(that.dtype)
                && Arrays.equals(shape, that.shape)
                && begin == that.begin
                && end == that.end;
    }

    /** Hashes the shape by content, consistent with {@link #equals}. */
    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    /** Shows the shape's values rather than the array's identity. */
    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " bytes [" + begin + ", " + end + ")";
    }
}
