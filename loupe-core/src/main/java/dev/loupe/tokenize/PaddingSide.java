package dev.loupe.tokenize;

/** Where a batch of texts of different lengths gets its padding. */
public enum PaddingSide {
    /** Pad after the text (TransformerLens's default). */
    RIGHT,
    /** Pad before the text, so that every text ends at the last position. */
    LEFT
}
