package dev.loupe.numeric;

/**
 * Exact widening of 16-bit floats to {@code float}. {@code Float.float16ToFloat} only exists from
 * Java 20, and DJL cannot be used for it: bfloat16 aborts the JVM and float16 would leave the
 * tensor in a dtype that the CPU computes with about 170 times slower than float32.
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
}
