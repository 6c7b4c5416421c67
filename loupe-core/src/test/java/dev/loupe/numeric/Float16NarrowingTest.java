package dev.loupe.numeric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** What float16 cannot hold: overflow always, a flush to 0 only in a tensor of values all below float16's normal range. */
class Float16NarrowingTest {

    @Test
    void narrowsAsFloatToHalfUpToTheLargestFloat16() {
        Float16Narrowing narrowing = new Float16Narrowing("t");
        assertThat(narrowing.narrow(65504f)).isEqualTo((short) 0x7bff);
        assertThat(narrowing.narrow(65519f)).as("rounds down to 65504").isEqualTo((short) 0x7bff);
        assertThat(narrowing.narrow(-0x1p-24f)).isEqualTo((short) 0x8001);
        assertThat(narrowing.narrow(0x1.01p-25f)).as("rounds up to the smallest subnormal").isEqualTo((short) 1);
        assertThat(narrowing.narrow(-0f)).isEqualTo((short) 0x8000);
        assertThat(narrowing.narrow(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xfc00);
        assertThat(narrowing.narrow(Float.NaN)).isEqualTo((short) 0x7e00);
        narrowing.finish();
    }

    @Test
    void aFiniteValueThatWouldBecomeInfiniteIsRefusedAtOnce() {
        for (float value : new float[] {65520f, -70000f, Float.MAX_VALUE}) {
            assertThatThrownBy(() -> new Float16Narrowing("w").narrow(value))
                    .isInstanceOf(Float16RangeException.class)
                    .hasMessageContaining("w holds " + value).hasMessageContaining("infinite")
                    .satisfies(e -> assertThat(((Float16RangeException) e).value()).isEqualTo(value));
        }
    }

    @Test
    void aFlushToZeroCountsOnlyWhenTheWholeTensorIsBelowTheNormalRange() {
        Float16Narrowing tiny = new Float16Narrowing("tiny");
        assertThat(tiny.narrow(1e-30f)).as("flushed to 0").isZero();
        tiny.narrow(3e-5f);
        tiny.narrow(Float.POSITIVE_INFINITY); // carried as it is, and no measure of the tensor's scale
        assertThatThrownBy(tiny::finish).isInstanceOf(Float16RangeException.class)
                .hasMessageContaining("tiny holds 1.0E-30").hasMessageContaining("become 0");

        Float16Narrowing trained = new Float16Narrowing("trained");
        trained.narrow(1e-30f);
        trained.narrow(-0x1p-25f);
        trained.narrow(0x1p-14f);
        trained.finish(); // the flushes cost no more than float16's rounding of 2^-14
    }

    @Test
    void narrowingBfloat16ByTableGivesNarrowsBitsForEveryValue() {
        short[] in = new short[1 << 16];
        short[] out = new short[1 << 16];
        int ordinary = 0;
        for (int bits = 0; bits < 1 << 16; bits++) {
            float value = HalfFloats.bfloat16ToFloat(bits);
            int half = HalfFloats.floatToHalf(value);
            boolean overflows = (half & 0x7fff) == 0x7c00 && !Float.isInfinite(value);
            if (!overflows) {
                in[ordinary++] = (short) bits;
            }
        }
        Float16Narrowing table = new Float16Narrowing("table");
        table.narrowBfloat16(in, out, ordinary);
        Float16Narrowing oneByOne = new Float16Narrowing("one by one");
        for (int i = 0; i < ordinary; i++) {
            assertThat(out[i]).as("bfloat16 %04x", in[i]).isEqualTo(oneByOne.narrow(HalfFloats.bfloat16ToFloat(in[i])));
        }
        table.finish(); // flushes among values up to 65280: kept narrowed, as one by one
        oneByOne.finish();
    }

    @Test
    void narrowingBfloat16ByTableRefusesAndRecordsAsNarrowDoes() {
        short[] out = new short[3];
        short[] overflow = {0x3f80, 0x4780, 0x3f80}; // 1, 65536, 1
        assertThatThrownBy(() -> new Float16Narrowing("w").narrowBfloat16(overflow, out, 3))
                .isInstanceOf(Float16RangeException.class).hasMessageContaining("w holds 65536.0");

        Float16Narrowing tiny = new Float16Narrowing("tiny");
        tiny.narrowBfloat16(new short[] {0x0001, 0x3800}, out, 2); // a flushed subnormal, 3.05e-5
        assertThatThrownBy(tiny::finish).isInstanceOf(Float16RangeException.class).hasMessageContaining("become 0");

        Float16Narrowing scaled = new Float16Narrowing("scaled");
        scaled.narrowBfloat16(new short[] {0x0001}, out, 1);
        scaled.narrowBfloat16(new short[] {0x3f80}, out, 1); // 1 in a later run: the largest counts across runs
        scaled.finish();
    }
}
