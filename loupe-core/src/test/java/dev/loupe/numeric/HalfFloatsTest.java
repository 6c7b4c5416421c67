package dev.loupe.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.io.safetensors.TestFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
}
