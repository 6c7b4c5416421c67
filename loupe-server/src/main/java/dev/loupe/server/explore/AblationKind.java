package dev.loupe.server.explore;

/** What an ablation puts in place of an activation. */
public enum AblationKind {
    /** Zeros. */
    ZERO,
    /** The activation's mean over the prompt's positions (the prompt itself is the reference distribution). */
    MEAN
}
