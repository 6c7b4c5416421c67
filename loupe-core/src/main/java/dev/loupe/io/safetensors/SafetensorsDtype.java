package dev.loupe.io.safetensors;

import ai.djl.ndarray.types.DataType;

/**
 * The dtypes of the safetensors format, their element size, and what Loupe turns them into.
 * Every dtype of the format is listed, loadable or not, so that a header can be validated (its
 * byte ranges checked) even when it holds a tensor Loupe will refuse to load.
 */
enum SafetensorsDtype {
    BOOL(1, DataType.BOOLEAN, false),
    U8(1, DataType.UINT8, false),
    I8(1, DataType.INT8, false),
    F8_E5M2(1, null, false),
    F8_E4M3(1, null, false),
    F8_E8M0(1, null, false),
    // INT16/UINT16/UINT32/UINT64 abort the JVM inside DJL, so they must never reach it.
    I16(2, null, false),
    U16(2, null, false),
    F16(2, DataType.FLOAT32, true),
    BF16(2, DataType.FLOAT32, true),
    I32(4, DataType.INT32, false),
    U32(4, null, false),
    F32(4, DataType.FLOAT32, false),
    I64(8, DataType.INT64, false),
    U64(8, null, false),
    // Loupe computes in float32 throughout; float64 would only force conversions later.
    F64(8, DataType.FLOAT32, true),
    C64(8, null, false);

    /** The dtypes {@link SafetensorsFile#load} accepts, for error messages. */
    static final String LOADABLE = "F32, F16, BF16, F64, I64, I32, I8, U8, BOOL";

    final int bytes;
    /** The dtype of the loaded array; null if Loupe cannot load this dtype. */
    final DataType loadedAs;
    /** Whether loading converts element by element in Java instead of handing the bytes to DJL. */
    final boolean converted;

    SafetensorsDtype(int bytes, DataType loadedAs, boolean converted) {
        this.bytes = bytes;
        this.loadedAs = loadedAs;
        this.converted = converted;
    }

    /** Returns the dtype with this safetensors name, or null if the format has no such dtype. */
    static SafetensorsDtype of(String name) {
        for (SafetensorsDtype dtype : values()) {
            if (dtype.name().equals(name)) {
                return dtype;
            }
        }
        return null;
    }

    /** Returns the safetensors name for a DJL dtype the writer supports, or null. */
    static String nameFor(DataType type) {
        switch (type) {
            case FLOAT32: return "F32";
            case FLOAT16: return "F16";
            case FLOAT64: return "F64";
            case INT64: return "I64";
            case INT32: return "I32";
            case INT8: return "I8";
            case UINT8: return "U8";
            case BOOLEAN: return "BOOL";
            default: return null;
        }
    }
}
