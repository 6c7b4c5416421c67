package dev.loupe.sae.features;

/**
 * The positive activations of one feature counted in linear bins: bin i holds the values in
 * [i·binWidth, (i + 1)·binWidth). The bins cover [0, range) where range = bins·binWidth is the smallest power of
 * two above the largest activation seen (1 when the feature never fired), so that a stream can double it by
 * merging pairs of bins without losing a count. Zero activations are not counted: the feature's density says how
 * many tokens it was active on.
 *
 * @param binWidth the width of every bin
 * @param counts [bins] how many activations fell in each bin
 */
public record ActivationHistogram(double binWidth, long[] counts) {
    public ActivationHistogram {
        counts = counts.clone();
    }

    @Override
    public long[] counts() {
        return counts.clone();
    }

    /** How many bins. */
    public int bins() {
        return counts.length;
    }

    /** The lower edge of bin {@code i} (i = bins gives the upper edge of the last). */
    public double edge(int i) {
        return i * binWidth;
    }

    /** The counted activations: every positive one. */
    public long total() {
        long total = 0;
        for (long c : counts) {
            total += c;
        }
        return total;
    }
}
