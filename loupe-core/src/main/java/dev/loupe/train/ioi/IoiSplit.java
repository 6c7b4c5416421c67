package dev.loupe.train.ioi;

/** Which templates and name pairs a set of IOI prompts draws from. */
public enum IoiSplit {
    /** Training templates, training pairs: what the model was trained on. */
    TRAIN(false, false),
    /** Templates never seen in training, with training pairs. */
    HELD_OUT_TEMPLATES(true, false),
    /** Training templates, with name pairs never seen together in training. */
    HELD_OUT_PAIRS(false, true),
    /** Held-out templates and held-out pairs at once. */
    HELD_OUT_BOTH(true, true);

    private final boolean heldOutTemplates;
    private final boolean heldOutPairs;

    IoiSplit(boolean heldOutTemplates, boolean heldOutPairs) {
        this.heldOutTemplates = heldOutTemplates;
        this.heldOutPairs = heldOutPairs;
    }

    /** Whether the prompts use held-out templates. */
    public boolean heldOutTemplates() {
        return heldOutTemplates;
    }

    /** Whether the prompts use held-out name pairs. */
    public boolean heldOutPairs() {
        return heldOutPairs;
    }
}
