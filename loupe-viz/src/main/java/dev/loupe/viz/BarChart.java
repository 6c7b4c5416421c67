package dev.loupe.viz;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.loupe.cache.LabelledStack;
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

    /**
     * One bar per component of a residual-stream decomposition: for example each component's logit
     * attribution, {@code cache.logitAttrs(stack.stack(), answer, wrong, PosSlice.at(-1))} for one
     * sequence.
     *
     * @param stack the decomposition whose labels name the bars ({@code "embed"}, {@code "0_attn_out"}, …)
     * @param values one value per component, shape [components] (or [components, 1])
     */
    public static BarChart of(String title, LabelledStack stack, NDArray values, String valueName) {
        if (values.size() != stack.labels().size()) {
            throw new IllegalArgumentException("One value per component: the stack has " + stack.labels().size()
                    + " labelled components but the values have shape " + values.getShape()
                    + "; pick one sequence and position first");
        }
        try (NDArray asFloat = values.toType(DataType.FLOAT32, false)) {
            return new BarChart(title, stack.labels(), asFloat.toFloatArray(), valueName);
        }
    }

    @Override
    public float[] values() {
        return values.clone();
    }
}
