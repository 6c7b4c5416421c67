package dev.loupe.numeric;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * New arrays whose bytes Java writes straight into libtorch's memory: for the safetensors and the
 * PyTorch readers alike, and for the small arrays a forward pass builds from Java values (masks,
 * positions, rotary angles). {@code manager.create(float[])} would instead stage the values in a
 * Java direct buffer that the tensor keeps until the garbage collector finds it, however early the
 * tensor is closed: native memory that grows with every pass until a collection happens to run.
 */
public final class FilledArrays {
    private FilledArrays() {}

    /** Writes the bytes of a new array (little-endian, C order). */
    @FunctionalInterface
    public interface Filler {
        void fill(ByteBuffer target) throws IOException;
    }

    /** The memory of a new array, handed out block after block in order (little-endian, C order). */
    public interface Blocks {
        /**
         * The next block of the array's memory.
         *
         * @throws IllegalStateException if the array has no more blocks
         */
        ByteBuffer next();
    }

    /** Writes the bytes of a new array through {@link Blocks}, in order. */
    @FunctionalInterface
    public interface BlockFiller {
        void fill(Blocks blocks) throws IOException;
    }

    /**
     * Creates an array of any size, also beyond the 2 GiB one Java buffer can address (a 256000 × 2304
     * float32 embedding is 2.4 GB), whose bytes {@code filler} writes straight into libtorch's memory a
     * block of at most {@code blockBytes} at a time: the array is made flat, each block is a contiguous
     * slice of it (a view, not a copy), and the filled array is reshaped to {@code shape}. No second copy
     * of the array exists at any time. An array of at most {@code blockBytes} is one block.
     *
     * @param blockBytes the largest block, at most {@link Integer#MAX_VALUE}; blocks hold whole elements
     * @throws IllegalArgumentException if a multi-block array is asked for on another device than the CPU
     */
    public static NDArray createInBlocks(NDManager manager, Shape shape, DataType type, int blockBytes,
            BlockFiller filler) throws IOException {
        long elementBytes = type.getNumOfBytes();
        long bytes = shape.size() * elementBytes;
        if (bytes <= blockBytes) {
            return create(manager, shape, type, (int) bytes, target -> filler.fill(single(target)));
        }
        if (!Device.cpu().equals(manager.getDevice())) {
            throw new IllegalArgumentException("An array of " + bytes + " bytes is filled in blocks on the CPU only");
        }
        long numel = shape.size();
        long blockElements = Math.max(1, blockBytes / elementBytes);
        NDArray flat = manager.create(new Shape(numel), type);
        try {
            filler.fill(new Blocks() {
                private long start;

                @Override
                public ByteBuffer next() {
                    if (start >= numel) {
                        throw new IllegalStateException("wrote past the end of an array of " + bytes + " bytes");
                    }
                    long end = Math.min(numel, start + blockElements);
                    try (NDArray slice = flat.get(new NDIndex(start + ":" + end))) {
                        ByteBuffer view = slice.toByteBuffer(true);
                        if (!view.isDirect() || view.remaining() != (end - start) * elementBytes) {
                            throw new IllegalStateException("libtorch gave a copy of a slice, not a view of it");
                        }
                        start = end;
                        return view.order(ByteOrder.LITTLE_ENDIAN);
                    }
                }
            });
            // A view of the same storage: closing the flat handle leaves the memory to the reshaped one.
            return flat.reshape(shape);
        } finally {
            flat.close();
        }
    }

    /** Writes the bytes of a new array into its parts, in any order. */
    @FunctionalInterface
    public interface PartsFiller {
        /**
         * @param parts the array's memory in order (little-endian, C order): every part holds
         *     {@code partBytes / elementBytes} elements (rounded down), but the last may hold fewer
         */
        void fill(ByteBuffer[] parts) throws IOException;
    }

    /**
     * As {@link #createInBlocks}, but with every block at once, so that several threads may write them, and in
     * any order.
     */
    public static NDArray createInParts(NDManager manager, Shape shape, DataType type, int blockBytes,
            PartsFiller filler) throws IOException {
        long elementBytes = type.getNumOfBytes();
        long numel = shape.size();
        long blockElements = Math.max(1, blockBytes / elementBytes);
        int count = (int) Math.max(1, (numel + blockElements - 1) / blockElements);
        ByteBuffer[] parts = new ByteBuffer[count];
        return createInBlocks(manager, shape, type, blockBytes, blocks -> {
            for (int i = 0; i < count; i++) {
                parts[i] = blocks.next();
            }
            filler.fill(parts);
        });
    }

    private static Blocks single(ByteBuffer target) {
        return new Blocks() {
            private boolean given;

            @Override
            public ByteBuffer next() {
                if (given) {
                    throw new IllegalStateException("wrote past the end of an array of " + target.capacity() + " bytes");
                }
                given = true;
                return target;
            }
        };
    }

    /** A float32 array of {@code shape} holding {@code values} (row-major), in libtorch's memory. */
    public static NDArray of(NDManager manager, float[] values, Shape shape) {
        return unchecked(manager, shape, DataType.FLOAT32, values.length * Float.BYTES,
                target -> target.asFloatBuffer().put(values));
    }

    /** An int64 array of {@code shape} holding {@code values} (row-major), in libtorch's memory. */
    public static NDArray of(NDManager manager, long[] values, Shape shape) {
        return unchecked(manager, shape, DataType.INT64, values.length * Long.BYTES,
                target -> target.asLongBuffer().put(values));
    }

    /** An int64 vector of {@code values}, in libtorch's memory. */
    public static NDArray of(NDManager manager, long[] values) {
        return of(manager, values, new Shape(values.length));
    }

    private static NDArray unchecked(NDManager manager, Shape shape, DataType type, int bytes, Filler filler) {
        if (shape.size() * type.getNumOfBytes() != bytes) {
            throw new IllegalArgumentException(bytes + " bytes of values for an array of shape " + shape);
        }
        if (bytes == 0) {
            return manager.create(shape, type);
        }
        try {
            return create(manager, shape, type, bytes, filler);
        } catch (IOException e) {
            throw new IllegalStateException("Writing into memory cannot fail", e);
        }
    }

    /**
     * Creates an array whose bytes {@code filler} writes. On the CPU it writes straight into
     * libtorch's memory: a Java direct buffer would count against -XX:MaxDirectMemorySize, which
     * defaults to the heap size and is easily exceeded by a model's weights. The array is DJL's own
     * memory, never a view of a file, so nothing it uses can be unmapped under it.
     */
    public static NDArray create(NDManager manager, Shape shape, DataType type, int bytes, Filler filler)
            throws IOException {
        if (Device.cpu().equals(manager.getDevice())) {
            NDArray array = manager.create(shape, type);
            try {
                // A fresh dense CPU array is contiguous, so this is a view of its memory, not a copy.
                ByteBuffer view = array.toByteBuffer(true);
                if (view.isDirect() && view.remaining() == bytes) {
                    filler.fill(view.order(ByteOrder.LITTLE_ENDIAN));
                    return array;
                }
            } catch (IOException | RuntimeException e) {
                array.close();
                throw e;
            }
            array.close();
        }
        // Elsewhere (a GPU) DJL copies a Java buffer to the device, and the buffer is then garbage.
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
        filler.fill(buffer);
        return manager.create(buffer.rewind(), shape, type);
    }
}
