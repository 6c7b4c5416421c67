package dev.loupe.viz;

import java.util.List;

/**
 * Rows of text with each token's background coloured by a value on one shared scale: a feature's top-activating
 * contexts, most active first, each with its peak token outlined; hovering a token shows its value.
 *
 * @param title shown above the rows
 * @param rows the contexts, in the order shown
 * @param valueName what the values are ("activation")
 * @param scale how values become colours, shared by every row so that colours compare across rows
 */
public record TokenContexts(String title, List<Row> rows, String valueName, ColorScale scale) {
    public TokenContexts {
        rows = List.copyOf(rows);
    }

    /**
     * One context.
     *
     * @param label what the row is ("sequence 12, position 40")
     * @param tokens the token labels
     * @param values one per token
     * @param peak the index of the token the row is about (its largest value)
     */
    public record Row(String label, List<String> tokens, float[] values, int peak) {
        public Row {
            tokens = List.copyOf(tokens);
            values = values.clone();
            if (tokens.size() != values.length) {
                throw new IllegalArgumentException("A context needs one value per token: " + tokens.size() + " tokens, "
                        + values.length + " values");
            }
            if (peak < 0 || peak >= values.length) {
                throw new IllegalArgumentException("A context's peak must be one of its " + values.length
                        + " tokens, got " + peak);
            }
        }

        @Override
        public float[] values() {
            return values.clone();
        }

        /** The value at the peak. */
        public float peakValue() {
            return values[peak];
        }
    }
}
