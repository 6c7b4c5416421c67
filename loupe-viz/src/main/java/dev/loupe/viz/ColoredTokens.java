package dev.loupe.viz;

import java.util.List;

/**
 * A text with each token's background coloured by a value (a per-token loss, a neuron's activation),
 * as CircuitsVis's {@code colored_tokens}; hovering a token shows its value.
 *
 * @param title shown above the text
 * @param tokens the token labels, in order
 * @param values one per token
 * @param valueName what the values are
 * @param scale how values become colours
 */
public record ColoredTokens(String title, List<String> tokens, float[] values, String valueName, ColorScale scale) {
    public ColoredTokens {
        tokens = List.copyOf(tokens);
        values = values.clone();
        if (tokens.size() != values.length) {
            throw new IllegalArgumentException("Colored tokens need one value per token: " + tokens.size()
                    + " tokens, " + values.length + " values");
        }
    }

    /**
     * Colours signed values red–white–blue around zero, or non-negative ones white to blue.
     */
    public static ColoredTokens of(String title, List<String> tokens, float[] values, String valueName) {
        float min = 0;
        float max = 0;
        for (float v : values) {
            if (Float.isFinite(v)) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        ColorScale scale = min < 0 ? ColorScale.redBlue(Math.max(-min, max))
                : ColorScale.blues(0, max > 0 ? max : 1);
        return new ColoredTokens(title, tokens, values, valueName, scale);
    }

    @Override
    public float[] values() {
        return values.clone();
    }
}
