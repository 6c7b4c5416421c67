package dev.loupe.numeric;

/**
 * Narrows one tensor's values to float16, one at a time, and decides whether float16 can hold the
 * tensor. Checkpoint readers make one per tensor, call {@link #narrow} for each value in order and
 * {@link #finish} at the end; both throw {@link Float16RangeException} for a tensor float16 cannot
 * hold, which the caller then keeps in float32.
 *
 * <p><b>What float16 cannot hold.</b> A tensor cannot be held when
 * <ul>
 *   <li>a finite value would become infinite: magnitude 65520 or more (65504, the largest float16,
 *       takes everything below by rounding); or
 *   <li>a nonzero value would become 0 (magnitude 2<sup>-25</sup> ≈ 3.0e-8 or less) <em>and</em> the
 *       tensor's largest magnitude is below 2<sup>-14</sup> ≈ 6.1e-5, float16's smallest normal number:
 *       the whole tensor then lives where float16 keeps few or no significant bits.
 * </ul>
 * A value flushed to 0 in a tensor whose largest magnitude is 2<sup>-14</sup> or more is kept
 * narrowed: the flush changes it by at most 2<sup>-25</sup>, no more than float16's rounding changes
 * the tensor's largest values (2<sup>-11</sup> of them), and such values are everywhere in trained
 * weights: a bfloat16 embedding of 256,000 × 3584 values drawn around 0 with spread 0.02 has about a
 * thousand of them, so refusing every flush would keep every large matrix in float32. Infinities
 * and NaNs are carried as they are; values in float16's subnormal range keep fewer significant bits.
 * A bfloat16 value inside float16's normal range is exact in float16 (8 significant bits fit in 11).
 */
public final class Float16Narrowing {
    /** Below this largest magnitude a tensor lives in float16's subnormals, and a flush to 0 counts. */
    private static final float SMALLEST_NORMAL = 0x1p-14f;
    /** bfloat16 magnitudes from here on are infinities and NaNs. */
    private static final int BFLOAT16_INFINITY = 0x7f80;
    /** The float16 bits of every bfloat16 value, as {@link #narrow} rounds it. */
    private static final short[] HALF_OF_BFLOAT16 = new short[1 << 16];
    /** 1 where {@link #narrow} of a bfloat16 value records more than the largest magnitude (a flush, an overflow). */
    private static final byte[] NOTABLE_BFLOAT16 = new byte[1 << 16];

    static {
        for (int bits = 0; bits < 1 << 16; bits++) {
            float value = HalfFloats.bfloat16ToFloat(bits);
            int half = HalfFloats.floatToHalf(value);
            int magnitude = half & 0x7fff;
            HALF_OF_BFLOAT16[bits] = (short) half;
            boolean overflow = magnitude == 0x7c00 && !Float.isInfinite(value);
            boolean flush = magnitude == 0 && value != 0f;
            NOTABLE_BFLOAT16[bits] = (byte) (overflow || flush ? 1 : 0);
        }
    }

    private final String what;
    private float largest;
    private float firstFlushed;
    private boolean flushed;

    /** @param what the tensor, for the exception's message: its file and name */
    public Float16Narrowing(String what) {
        this.what = what;
    }

    /**
     * The next value as float16 bits ({@link HalfFloats#floatToHalf}, rounded as libtorch rounds).
     *
     * @throws Float16RangeException if the value is finite and would become infinite
     */
    public short narrow(float value) {
        int half = HalfFloats.floatToHalf(value);
        int magnitude = half & 0x7fff;
        if (magnitude == 0x7c00 && !Float.isInfinite(value)) {
            throw new Float16RangeException(value, what, false);
        }
        if (magnitude == 0 && value != 0f && !flushed) {
            flushed = true;
            firstFlushed = value;
        }
        float abs = Math.abs(value);
        if (abs > largest && abs != Float.POSITIVE_INFINITY) {
            largest = abs;
        }
        return (short) half;
    }

    /**
     * {@link #narrow} of {@code count} bfloat16 values ({@code in}, bit patterns) into {@code out} (float16 bit
     * patterns), by table: a checkpoint's bfloat16 weights narrow several times faster this way. Where a value
     * would flush or overflow, the values are narrowed one at a time again, so that what is recorded, and the
     * exception, are {@link #narrow}'s.
     *
     * @throws Float16RangeException as {@link #narrow}
     */
    public void narrowBfloat16(short[] in, short[] out, int count) {
        int notable = 0;
        int largestBits = 0;
        for (int i = 0; i < count; i++) {
            int bits = in[i] & 0xffff;
            out[i] = HALF_OF_BFLOAT16[bits];
            notable |= NOTABLE_BFLOAT16[bits];
            int magnitude = bits & 0x7fff;
            if (magnitude > largestBits && magnitude < BFLOAT16_INFINITY) {
                largestBits = magnitude; // positive bfloat16 values order as their bits do
            }
        }
        if (notable != 0) {
            for (int i = 0; i < count; i++) {
                narrow(HalfFloats.bfloat16ToFloat(in[i]));
            }
            return;
        }
        largest = Math.max(largest, HalfFloats.bfloat16ToFloat(largestBits));
    }

    /**
     * Takes in what {@code later} recorded of the values that follow this one's in the tensor: a tensor checked
     * in parts, one narrowing a part, then {@link #finish finishes} as one narrowing of every value in order.
     */
    public void follow(Float16Narrowing later) {
        largest = Math.max(largest, later.largest);
        if (!flushed && later.flushed) {
            flushed = true;
            firstFlushed = later.firstFlushed;
        }
    }

    /**
     * Ends the tensor.
     *
     * @throws Float16RangeException if a nonzero value became 0 in a tensor whose largest magnitude
     *     is below float16's smallest normal number
     */
    public void finish() {
        if (flushed && largest < SMALLEST_NORMAL) {
            throw new Float16RangeException(firstFlushed, what, true);
        }
    }
}
