package dev.loupe.model;

/** Which occurrence {@code getTokenPosition} returns. */
public enum TokenPosition {
    FIRST,
    LAST
}
