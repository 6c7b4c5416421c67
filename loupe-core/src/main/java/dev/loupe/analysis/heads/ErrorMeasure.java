package dev.loupe.analysis.heads;

/**
 * How {@link HeadDetector} compares a head's attention pattern [q_pos, k_pos] with a detection
 * pattern [pos, pos] (TransformerLens's {@code error_measure}).
 */
public enum ErrorMeasure {
    /**
     * {@code Σ(pattern · detection) / Σ pattern}: the share of the head's attention that falls where
     * the detection pattern has ones. Meant for 0/1 detection patterns.
     */
    MUL,
    /**
     * {@code 1 − round(mean|pattern − detection| · pos, 3)}: 1 for a perfect match, down to −1; it
     * rewards predicting how much attention goes where, not only where.
     */
    ABS
}
