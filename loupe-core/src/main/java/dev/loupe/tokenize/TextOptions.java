package dev.loupe.tokenize;

/**
 * How text becomes tokens, as TransformerLens's {@code to_tokens} arguments.
 *
 * @param prependBos whether to put a BOS token in front; null means the model's
 *     {@code default_prepend_bos}
 * @param paddingSide where a batch is padded; null means {@link PaddingSide#RIGHT}
 * @param truncate whether to cut texts longer than the model's {@code n_ctx} (TransformerLens's
 *     default: true)
 */
public record TextOptions(Boolean prependBos, PaddingSide paddingSide, boolean truncate) {
    private static final TextOptions DEFAULTS = new TextOptions(null, null, true);

    /** The model's defaults: its own BOS setting, right padding, truncation to {@code n_ctx}. */
    public static TextOptions defaults() {
        return DEFAULTS;
    }

    /** The same with BOS prepended or not. */
    public TextOptions withPrependBos(boolean prepend) {
        return new TextOptions(prepend, paddingSide, truncate);
    }

    /** The same with padding on {@code side}. */
    public TextOptions withPaddingSide(PaddingSide side) {
        return new TextOptions(prependBos, side, truncate);
    }

    /** The same with truncation to {@code n_ctx} on or off. */
    public TextOptions withTruncate(boolean on) {
        return new TextOptions(prependBos, paddingSide, on);
    }
}
