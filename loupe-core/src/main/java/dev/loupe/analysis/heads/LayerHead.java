package dev.loupe.analysis.heads;

/**
 * One attention head: block {@code layer}, head {@code head} within it (TransformerLens's
 * {@code (layer, head)} tuples).
 */
public record LayerHead(int layer, int head) {
    /** Shorthand for {@code new LayerHead(layer, head)}. */
    public static LayerHead of(int layer, int head) {
        return new LayerHead(layer, head);
    }
}
