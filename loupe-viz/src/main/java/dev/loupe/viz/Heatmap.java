package dev.loupe.viz;

import java.util.Arrays;
import java.util.List;

/**
 * A matrix of values with labelled rows and columns, coloured by a scale: activation patching
 * results ({@code [n_layers, pos]}, {@code [n_layers, n_heads]}), a trajectory, any table of numbers.
 *
 * @param title shown above the map
 * @param rowName what the rows are ({@code "layer"}), or "" when the labels say it
 * @param rowLabels one per row, top row first
 * @param columnName what the columns are ({@code "position"}, {@code "head"}), or ""
 * @param columnLabels one per column
 * @param values {@code [row][column]}; NaN is drawn grey
 * @param valueName what the values are (shown on hover and by the legend)
 * @param scale how values become colours
 * @param cellText text drawn in each cell ({@code [row][column]}), or null for none
 */
public record Heatmap(String title, String rowName, List<String> rowLabels, String columnName,
        List<String> columnLabels, float[][] values, String valueName, ColorScale scale, String[][] cellText) {

    public Heatmap {
        rowLabels = List.copyOf(rowLabels);
        columnLabels = List.copyOf(columnLabels);
        if (values.length != rowLabels.size()) {
            throw new IllegalArgumentException("A heatmap needs one row of values per row label: " + rowLabels.size()
                    + " labels, " + values.length + " rows");
        }
        for (float[] row : values) {
            if (row.length != columnLabels.size()) {
                throw new IllegalArgumentException("Each heatmap row needs one value per column label ("
                        + columnLabels.size() + "), got " + row.length);
            }
        }
        int columns = columnLabels.size();
        if (cellText != null && (cellText.length != values.length
                || Arrays.stream(cellText).anyMatch(r -> r.length != columns))) {
            throw new IllegalArgumentException("cellText must have the values' shape [" + values.length + ", "
                    + columnLabels.size() + "]");
        }
    }

    /**
     * A heatmap of signed values, red below zero and blue above, symmetric around zero (as
     * TransformerLens's patching plots).
     */
    public static Heatmap diverging(String title, String rowName, List<String> rowLabels, String columnName,
            List<String> columnLabels, float[][] values, String valueName) {
        return new Heatmap(title, rowName, rowLabels, columnName, columnLabels, values, valueName,
                ColorScale.redBlue(maxAbs(values)), null);
    }

    /** A heatmap of values from their smallest to their largest, white to blue. */
    public static Heatmap sequential(String title, String rowName, List<String> rowLabels, String columnName,
            List<String> columnLabels, float[][] values, String valueName) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (float[] row : values) {
            for (float v : row) {
                if (!Float.isNaN(v)) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
        }
        if (!(max > min)) {
            min = Float.isFinite(min) ? min : 0;
            max = min + 1;
        }
        return new Heatmap(title, rowName, rowLabels, columnName, columnLabels, values, valueName,
                ColorScale.blues(min, max), null);
    }

    /** The largest |value| (ignoring NaN), 0 for none. */
    static double maxAbs(float[][] values) {
        double max = 0;
        for (float[] row : values) {
            for (float v : row) {
                if (!Float.isNaN(v) && Float.isFinite(v)) {
                    max = Math.max(max, Math.abs(v));
                }
            }
        }
        return max;
    }

    /** How many rows. */
    public int nRows() {
        return rowLabels.size();
    }

    /** How many columns. */
    public int nColumns() {
        return columnLabels.size();
    }
}
