package dev.loupe.run;

/** What a forward pass returns, as TransformerLens's {@code return_type}. */
public enum ReturnType {
    /** Logits [batch, pos, d_vocab_out]. */
    LOGITS,
    /** The next-token cross-entropy loss: mean, or [batch, pos - 1] per token. */
    LOSS,
    /** Logits and loss. */
    BOTH,
    /** Nothing: run only for the hooks' sake. */
    NONE;

    public boolean wantsLogits() {
        return this == LOGITS || this == BOTH;
    }

    public boolean wantsLoss() {
        return this == LOSS || this == BOTH;
    }
}
