package dev.loupe.analysis.patching;

import java.util.Locale;

/**
 * An axis that activation patching iterates over, as TransformerLens's {@code index_axis_names}.
 * The first axis of a sweep is always {@link #LAYER}; the others range over the corrupted tokens'
 * positions or the activation's heads.
 */
public enum Axis {
    /** Block index, 0 … n_layers - 1. */
    LAYER,
    /** Token position, 0 … pos - 1. */
    POS,
    /** Head index, 0 … n_heads - 1 (n_key_value_heads for keys and values under grouped-query attention). */
    HEAD,
    /** Key (source) position of an attention pattern, 0 … pos - 1. */
    SRC_POS,
    /** Query (destination) position of an attention pattern, 0 … pos - 1. */
    DEST_POS;

    /** TransformerLens's axis name: {@code layer, pos, head_index} (or {@code head}), {@code src_pos, dest_pos}. */
    public static Axis of(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "layer" -> LAYER;
            case "pos" -> POS;
            case "head", "head_index" -> HEAD;
            case "src_pos" -> SRC_POS;
            case "dest_pos" -> DEST_POS;
            default -> throw new IllegalArgumentException("Unknown patching axis '" + name
                    + "'; expected one of layer, pos, head_index (head), src_pos, dest_pos");
        };
    }
}
