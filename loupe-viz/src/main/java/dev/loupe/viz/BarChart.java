package dev.loupe.viz;

import java.util.List;

/**
 * Horizontal bars, one per label: a model's top predictions, logit attributions of components
 * ({@code cache.logitAttrs}), any labelled values. Negative values are drawn red, positive blue.
 *
 * @param title shown above the chart
 * @param labels one per bar, top bar first
 * @param values one per label
 * @param valueName what the values are
 */
public record BarChart(String title, List<String> labels, float[] values, String valueName) {
    public BarChart {
        labels = List.copyOf(labels);
        values = values.clone();
        if (labels.size() != values.length) {
            throw new IllegalArgumentException("A bar chart needs one value per label: " + labels.size() + " labels, "
                    + values.length + " values");
        }
    }

    @Override
    public float[] values() {
        return values.clone();
    }
}
