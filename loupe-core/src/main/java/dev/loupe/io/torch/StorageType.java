package dev.loupe.io.torch;

import ai.djl.ndarray.types.DataType;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The storage classes a {@code torch.save} pickle names (as {@code torch.FloatStorage} and so on)
 * in its persistent ids: each fixes the element type of the raw bytes in {@code data/<key>}.
 *
 * <p>Types without a {@link #loadedAs} type are still recognised, so that a file with one complex
 * tensor opens and its other tensors load; loading that tensor fails with a message naming its dtype.
 */
enum StorageType {
    FLOAT("FloatStorage", "float32", 4, DataType.FLOAT32),
    /** Widened to float32 in Java: the CPU computes float16 far slower than float32. */
    HALF("HalfStorage", "float16", 2, DataType.FLOAT32),
    /** Widened to float32 in Java: a BFLOAT16 array aborts the JVM inside DJL's native code. */
    BFLOAT16("BFloat16Storage", "bfloat16", 2, DataType.FLOAT32),
    DOUBLE("DoubleStorage", "float64", 8, DataType.FLOAT32),
    LONG("LongStorage", "int64", 8, DataType.INT64),
    INT("IntStorage", "int32", 4, DataType.INT32),
    /** Widened to int32 in Java: an INT16 array aborts the JVM inside DJL's native code. */
    SHORT("ShortStorage", "int16", 2, DataType.INT32),
    CHAR("CharStorage", "int8", 1, DataType.INT8),
    BYTE("ByteStorage", "uint8", 1, DataType.UINT8),
    BOOL("BoolStorage", "bool", 1, DataType.BOOLEAN),
    COMPLEX_FLOAT("ComplexFloatStorage", "complex64", 8, null),
    COMPLEX_DOUBLE("ComplexDoubleStorage", "complex128", 16, null);

    /** The dtypes {@link TorchCheckpoint#load} accepts, for error messages. */
    static final String LOADABLE = Arrays.stream(values())
            .filter(type -> type.loadedAs != null)
            .map(type -> type.dtype)
            .collect(Collectors.joining(", "));

    /** The class name in module {@code torch}, e.g. {@code FloatStorage}. */
    final String className;
    /** torch's name for the element type, e.g. {@code float16}. */
    final String dtype;
    /** Bytes per element in the file. */
    final int bytes;
    /** The type of the loaded array, or null where Loupe cannot load this type. */
    final DataType loadedAs;

    StorageType(String className, String dtype, int bytes, DataType loadedAs) {
        this.className = className;
        this.dtype = dtype;
        this.bytes = bytes;
        this.loadedAs = loadedAs;
    }

    /** True where the file's bytes can be handed over unchanged, without widening. */
    boolean copiedAsIs() {
        return loadedAs != null && loadedAs.getNumOfBytes() == bytes;
    }

    /** True for the floating-point types a model's weights may have. */
    boolean floating() {
        return this == FLOAT || this == HALF || this == BFLOAT16 || this == DOUBLE;
    }
}
