package dev.loupe.numeric;

/**
 * Exact widening of 16-bit floats to {@code float}, and the checked narrowing of a {@code float} to
 * float16 that a checkpoint reader does element by element. {@code Float.float16ToFloat} only exists
 * from Java 20, and DJL cannot be used for it: bfloat16 aborts the JVM and float16 would leave the
 * tensor in a dtype that the CPU computes with about 170 times slower than float32.
 *
 * <p>What float16 cannot hold is decided by {@link Float16Narrowing}, which narrows whole tensors.
 */
public final class HalfFloats {
    private HalfFloats() {}

    /**
     * Widens an IEEE 754 binary16 value. Every binary16 value, subnormals, infinities and NaN
     * payloads included, is exactly representable as a float, so this never rounds.
     *
     * @param bits the binary16 bit pattern in the low 16 bits
     * @return the same value as a float
     */
    public static float halfToFloat(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) {
            // Infinity or NaN: keep the payload so a NaN stays a NaN (and the same NaN).
            return Float.intBitsToFloat(sign | 0x7f80_0000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // Zero or subnormal: mantissa * 2^-24 is exact in float (at most 10 significant bits).
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        // Normal: rebias the exponent from 15 to 127.
        return Float.intBitsToFloat(sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13));
    }

    /**
     * Widens a bfloat16 value. bfloat16 is the upper half of a float, so this is exact.
     *
     * @param bits the bfloat16 bit pattern in the low 16 bits
     * @return the same value as a float
     */
    public static float bfloat16ToFloat(int bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /**
     * Widens {@code count} bfloat16 ({@code brain}) or binary16 bit patterns of {@code in} into {@code out},
     * exactly as {@link #bfloat16ToFloat} and {@link #halfToFloat}; by table for binary16.
     */
    public static void widen(short[] in, float[] out, int count, boolean brain) {
        if (brain) {
            for (int i = 0; i < count; i++) {
                out[i] = Float.intBitsToFloat(in[i] << 16);
            }
        } else {
            float[] table = HalfTable.FLOATS;
            for (int i = 0; i < count; i++) {
                out[i] = table[in[i] & 0xffff];
            }
        }
    }

    /** Every binary16 value as a float, made on first use. */
    private static final class HalfTable {
        static final float[] FLOATS = new float[1 << 16];

        static {
            for (int bits = 0; bits < 1 << 16; bits++) {
                FLOATS[bits] = halfToFloat(bits);
            }
        }
    }

    /**
     * Narrows a float to IEEE 754 binary16, rounding to nearest even as libtorch's
     * {@code tensor.to(torch.float16)} does on the CPU (the FP16 library's branch-free algorithm), so a
     * tensor converted here is bit for bit the one libtorch would make. A NaN becomes float16's quiet
     * NaN with its sign.
     *
     * @param value any float
     * @return the binary16 bit pattern in the low 16 bits
     */
    public static int floatToHalf(float value) {
        int w = Float.floatToRawIntBits(value);
        int shl1 = w << 1;
        int sign = (w >>> 16) & 0x8000;
        if (Integer.compareUnsigned(shl1, 0xff00_0000) > 0) {
            return sign | 0x7e00;
        }
        // Scaling up then down makes the hardware do the rounding, including into the subnormals.
        float base = (Math.abs(value) * 0x1.0p+112f) * 0x1.0p-110f;
        int bias = shl1 & 0xff00_0000;
        if (Integer.compareUnsigned(bias, 0x7100_0000) < 0) {
            bias = 0x7100_0000;
        }
        base = Float.intBitsToFloat((bias >>> 1) + 0x0780_0000) + base;
        int bits = Float.floatToRawIntBits(base);
        return sign | (((bits >>> 13) & 0x7c00) + (bits & 0x0fff));
    }
}
