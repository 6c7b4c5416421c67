package dev.loupe.numeric;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** New arrays whose bytes a checkpoint reader writes, for the safetensors and the PyTorch readers alike. */
public final class FilledArrays {
    private FilledArrays() {}

    /** Writes the bytes of a new array (little-endian, C order). */
    @FunctionalInterface
    public interface Filler {
        void fill(ByteBuffer target) throws IOException;
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
