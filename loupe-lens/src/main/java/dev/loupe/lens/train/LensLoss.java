package dev.loupe.lens.train;

/** What a tuned lens is trained to match, as the tuned-lens library's {@code --loss}. */
public enum LensLoss {
    /** KL(final ‖ lens) per position against the model's own output distribution (default token shift 0). */
    KL(0),
    /** Cross-entropy against the next token (default token shift 1). */
    CE(1);

    private final int defaultTokenShift;

    LensLoss(int defaultTokenShift) {
        this.defaultTokenShift = defaultTokenShift;
    }

    /** The library's token shift when none is given. */
    public int defaultTokenShift() {
        return defaultTokenShift;
    }
}
