package dev.loupe.viz;

/**
 * Counts in contiguous bins, drawn as vertical bars: a feature's activations, the features' densities.
 *
 * @param title shown above the chart
 * @param edges [bins + 1] the bins' edges, increasing: bin i is [edges[i], edges[i + 1])
 * @param counts [bins] how many values fell in each bin
 * @param valueName what was counted ("activation", "log10 density")
 */
public record Histogram(String title, double[] edges, long[] counts, String valueName) {
    public Histogram {
        edges = edges.clone();
        counts = counts.clone();
        if (edges.length != counts.length + 1 || counts.length == 0) {
            throw new IllegalArgumentException("A histogram needs at least one bin and one more edge than bins: "
                    + edges.length + " edges, " + counts.length + " bins");
        }
        for (int i = 1; i < edges.length; i++) {
            if (!(edges[i] > edges[i - 1])) {
                throw new IllegalArgumentException("A histogram's edges must increase: " + edges[i - 1] + " then "
                        + edges[i]);
            }
        }
    }

    @Override
    public double[] edges() {
        return edges.clone();
    }

    @Override
    public long[] counts() {
        return counts.clone();
    }
}
