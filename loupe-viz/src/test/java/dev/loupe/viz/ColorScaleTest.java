package dev.loupe.viz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ColorScaleTest {
    @Test
    void interpolatesBetweenStopsAndClamps() {
        ColorScale scale = new ColorScale(new int[] {0x000000, 0xff0000, 0xffffff}, 0, 2);
        assertThat(scale.rgb(0)).isEqualTo(0x000000);
        assertThat(scale.rgb(1)).isEqualTo(0xff0000);
        assertThat(scale.rgb(2)).isEqualTo(0xffffff);
        assertThat(scale.rgb(0.5)).isEqualTo(0x800000);
        assertThat(scale.rgb(1.5)).isEqualTo(0xff8080);
        assertThat(scale.rgb(-5)).isEqualTo(0x000000);
        assertThat(scale.rgb(99)).isEqualTo(0xffffff);
        assertThat(scale.rgb(Double.NaN)).isEqualTo(0xdddddd);
    }

    @Test
    void redBlueIsSymmetricAroundZero() {
        ColorScale scale = ColorScale.redBlue(2);
        assertThat(scale.min()).isEqualTo(-2);
        assertThat(scale.max()).isEqualTo(2);
        assertThat(scale.rgb(0)).isEqualTo(ColorScale.WHITE);
        assertThat(scale.rgb(2)).isEqualTo(0x2166ac);
        assertThat(scale.rgb(-2)).isEqualTo(0xb2182b);
        assertThat(ColorScale.redBlue(0).max()).isEqualTo(1);
    }

    @Test
    void textIsBlackOnLightAndWhiteOnDark() {
        assertThat(ColorScale.textOn(0xffffff)).isEqualTo(0x000000);
        assertThat(ColorScale.textOn(0x08306b)).isEqualTo(0xffffff);
        assertThat(ColorScale.hex(0x0a0b0c)).isEqualTo("#0a0b0c");
        assertThat(ColorScale.headColors(4)).doesNotHaveDuplicates().hasSize(4);
    }

    @Test
    void badScalesAreRefused() {
        assertThatThrownBy(() -> new ColorScale(new int[] {1}, 0, 1)).hasMessageContaining("two colour stops");
        assertThatThrownBy(() -> ColorScale.blues(1, 1)).hasMessageContaining("min < max");
    }
}
