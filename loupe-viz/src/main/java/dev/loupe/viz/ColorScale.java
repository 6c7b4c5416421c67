package dev.loupe.viz;

import java.util.Arrays;
import java.util.Locale;

/**
 * A linear colour scale: {@code min} maps to the first colour stop, {@code max} to the last, values
 * in between are interpolated in sRGB and values outside are clamped. The HTML views receive the
 * stops and the domain and interpolate the same way, so a PNG and a page show the same colours.
 *
 * @param stops colours as 0xRRGGBB, at least two, evenly spaced over the domain
 * @param min the value of the first stop
 * @param max the value of the last stop (greater than {@code min})
 */
public record ColorScale(int[] stops, double min, double max) {
    /** Light grey-white, the middle of the diverging scale. */
    static final int WHITE = 0xf7f7f7;

    public ColorScale {
        if (stops == null || stops.length < 2) {
            throw new IllegalArgumentException("A colour scale needs at least two colour stops");
        }
        if (!(max > min) || !Double.isFinite(min) || !Double.isFinite(max)) {
            throw new IllegalArgumentException("A colour scale needs finite min < max, got [" + min + ", " + max + "]");
        }
        stops = stops.clone();
    }

    @Override
    public int[] stops() {
        return stops.clone();
    }

    /** White to dark blue (probabilities, attention weights): matplotlib's Blues. */
    public static ColorScale blues(double min, double max) {
        return new ColorScale(new int[] {0xf7fbff, 0xc6dbef, 0x6baed6, 0x2171b5, 0x08306b}, min, max);
    }

    /** White to dark purple (entropies): matplotlib's Purples. */
    public static ColorScale purples(double min, double max) {
        return new ColorScale(new int[] {0xfcfbfd, 0xdadaeb, 0x9e9ac8, 0x6a51a3, 0x3f007d}, min, max);
    }

    /** White to dark red-orange (divergences): matplotlib's Oranges. */
    public static ColorScale oranges(double min, double max) {
        return new ColorScale(new int[] {0xfff5eb, 0xfdd0a2, 0xfd8d3c, 0xd94801, 0x7f2704}, min, max);
    }

    /**
     * Red for negative, white at zero, blue for positive, symmetric around zero (matplotlib's RdBu,
     * as TransformerLens's patching plots use).
     *
     * @param maxAbs the largest magnitude shown at full colour; 0 or less gives 1
     */
    public static ColorScale redBlue(double maxAbs) {
        double m = maxAbs > 0 && Double.isFinite(maxAbs) ? maxAbs : 1;
        return new ColorScale(new int[] {0xb2182b, 0xef8a62, 0xfddbc7, WHITE, 0xd1e5f0, 0x67a9cf, 0x2166ac}, -m, m);
    }

    /** White to {@code rgb} over [min, max] (one attention head's colour, as CircuitsVis draws heads). */
    public static ColorScale whiteTo(int rgb, double min, double max) {
        return new ColorScale(new int[] {0xffffff, rgb}, min, max);
    }

    /** The colour of {@code value} as 0xRRGGBB; NaN gives light grey. */
    public int rgb(double value) {
        if (Double.isNaN(value)) {
            return 0xdddddd;
        }
        double t = (Math.min(Math.max(value, min), max) - min) / (max - min) * (stops.length - 1);
        int i = Math.min((int) Math.floor(t), stops.length - 2);
        double f = t - i;
        return mix(stops[i], stops[i + 1], f);
    }

    /** Black or white, whichever reads better on {@code background} (0xRRGGBB). */
    public static int textOn(int background) {
        double luminance = 0.2126 * channel(background >> 16) + 0.7152 * channel(background >> 8)
                + 0.0722 * channel(background);
        return luminance > 0.36 ? 0x000000 : 0xffffff;
    }

    /** {@code #rrggbb}. */
    public static String hex(int rgb) {
        return String.format(Locale.ROOT, "#%06x", rgb & 0xffffff);
    }

    /** Evenly spaced hues for {@code n} attention heads, as CircuitsVis colours its heads. */
    public static int[] headColors(int n) {
        int[] colors = new int[n];
        for (int h = 0; h < n; h++) {
            colors[h] = java.awt.Color.HSBtoRGB((float) h / Math.max(n, 1), 0.75f, 0.72f) & 0xffffff;
        }
        return colors;
    }

    private static int mix(int a, int b, double f) {
        int r = (int) Math.round(((a >> 16) & 255) * (1 - f) + ((b >> 16) & 255) * f);
        int g = (int) Math.round(((a >> 8) & 255) * (1 - f) + ((b >> 8) & 255) * f);
        int bl = (int) Math.round((a & 255) * (1 - f) + (b & 255) * f);
        return (r << 16) | (g << 8) | bl;
    }

    private static double channel(int value) {
        double c = (value & 255) / 255.0;
        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ColorScale other && Arrays.equals(stops, other.stops) && min == other.min
                && max == other.max;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(stops) + Double.hashCode(min) * 7 + Double.hashCode(max);
    }

    @Override
    public String toString() {
        return "ColorScale" + Arrays.stream(stops).mapToObj(ColorScale::hex).toList() + " over [" + min + ", " + max
                + "]";
    }
}
