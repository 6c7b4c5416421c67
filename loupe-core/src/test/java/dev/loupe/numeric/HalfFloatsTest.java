package dev.loupe.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.io.safetensors.TestFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HalfFloatsTest {

    @Test
    void halfToFloatHandlesSpecialValues() {
        assertThat(HalfFloats.halfToFloat(0x3c00)).isEqualTo(1f);
        assertThat(HalfFloats.halfToFloat(0xc000)).isEqualTo(-2f);
        assertThat(HalfFloats.halfToFloat(0x7bff)).isEqualTo(65504f);
        assertThat(HalfFloats.halfToFloat(0x0400)).isEqualTo(0x1p-14f);
        assertThat(HalfFloats.halfToFloat(0x0001)).isEqualTo(0x1p-24f);
        assertThat(HalfFloats.halfToFloat(0x03ff)).isEqualTo(1023 * 0x1p-24f);
        assertThat(HalfFloats.halfToFloat(0x83ff)).isEqualTo(-1023 * 0x1p-24f);
        assertThat(Float.floatToRawIntBits(HalfFloats.halfToFloat(0x8000))).isEqualTo(0x8000_0000);
        assertThat(Float.floatToRawIntBits(HalfFloats.halfToFloat(0x0000))).isZero();
        assertThat(HalfFloats.halfToFloat(0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(HalfFloats.halfToFloat(0xfc00)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(HalfFloats.halfToFloat(0x7e00)).isNaN();
        assertThat(HalfFloats.halfToFloat(0x7c01)).isNaN();
        assertThat(HalfFloats.halfToFloat(0xfe00)).isNaN();
        // Only the low 16 bits count, so a sign-extended short works too.
        assertThat(HalfFloats.halfToFloat((short) 0xc000)).isEqualTo(-2f);
    }

    @Test
    void halfToFloatMatchesTorchForEveryBitPattern() {
        ByteBuffer all = ByteBuffer.allocateDirect(65536 * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int bits = 0; bits < 65536; bits++) {
            all.putShort((short) bits);
        }
        all.rewind();
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray half = manager.create(all, new Shape(65536), DataType.FLOAT16);
            float[] torch = half.toType(DataType.FLOAT32, true).toFloatArray();
            int mismatches = 0;
            for (int bits = 0; bits < 65536; bits++) {
                float ours = HalfFloats.halfToFloat(bits);
                boolean same = Float.isNaN(torch[bits])
                        ? Float.isNaN(ours)
                        : Float.floatToRawIntBits(ours) == Float.floatToRawIntBits(torch[bits]);
                if (!same) {
                    mismatches++;
                }
            }
            assertThat(mismatches).as("bit patterns widened differently from torch").isZero();
        }
    }

    @Test
    void halfToFloatIsExactSoRoundingBackGivesTheSameValue() {
        int mismatches = 0;
        for (int bits = 0; bits < 65536; bits++) {
            float value = HalfFloats.halfToFloat(bits);
            if (!Float.isNaN(value) && Float.compare(TestFiles.roundToFloat16(value), value) != 0) {
                mismatches++;
            }
        }
        assertThat(mismatches).isZero();
    }

    @Test
    void bfloat16ToFloatIsTheUpperHalfOfAFloat() {
        assertThat(HalfFloats.bfloat16ToFloat(0x3f80)).isEqualTo(1f);
        assertThat(HalfFloats.bfloat16ToFloat((short) 0xc000)).isEqualTo(-2f);
        assertThat(HalfFloats.bfloat16ToFloat(0x7f80)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(HalfFloats.bfloat16ToFloat(0x7fc0)).isNaN();
        assertThat(HalfFloats.bfloat16ToFloat(0x0001)).isEqualTo(Float.intBitsToFloat(0x0001_0000));
        int mismatches = 0;
        for (int bits = 0; bits < 65536; bits++) {
            if (Float.floatToRawIntBits(HalfFloats.bfloat16ToFloat(bits)) != bits << 16) {
                mismatches++;
            }
        }
        assertThat(mismatches).isZero();
    }

    @Test
    void floatToHalfRoundsAsTorchForEveryBfloat16AndManyRandomFloats() {
        int n = 65536 + 200_000;
        float[] values = new float[n];
        for (int bits = 0; bits < 65536; bits++) {
            values[bits] = HalfFloats.bfloat16ToFloat(bits);
        }
        Random random = new Random(18);
        for (int i = 65536; i < n; i++) {
            // Random bit patterns cover every exponent; halfway cases come from the low bits being 0x1000.
            int bits = random.nextInt();
            values[i] = Float.intBitsToFloat(i % 2 == 0 ? bits : (bits & ~0x1fff) | 0x1000);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray torch = manager.create(values).toType(DataType.FLOAT16, false);
            ByteBuffer halves = torch.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            int mismatches = 0;
            for (int i = 0; i < n; i++) {
                int expected = halves.getShort(2 * i) & 0xffff;
                int ours = HalfFloats.floatToHalf(values[i]);
                boolean nan = (expected & 0x7c00) == 0x7c00 && (expected & 0x3ff) != 0;
                if (nan ? (ours & 0x7c00) != 0x7c00 || (ours & 0x3ff) == 0 : ours != expected) {
                    mismatches++;
                }
            }
            assertThat(mismatches).as("floats narrowed differently from torch").isZero();
        }
    }

    @Test
    void widenInBulkEqualsTheOneValueWidening() {
        short[] in = new short[1 << 16];
        for (int bits = 0; bits < 1 << 16; bits++) {
            in[bits] = (short) bits;
        }
        float[] half = new float[1 << 16];
        float[] brain = new float[1 << 16];
        HalfFloats.widen(in, half, in.length, false);
        HalfFloats.widen(in, brain, in.length, true);
        for (int bits = 0; bits < 1 << 16; bits++) {
            assertThat(Float.floatToRawIntBits(half[bits])).isEqualTo(Float.floatToRawIntBits(HalfFloats.halfToFloat(bits)));
            assertThat(Float.floatToRawIntBits(brain[bits])).isEqualTo(Float.floatToRawIntBits(HalfFloats.bfloat16ToFloat(bits)));
        }
    }
}
