package dev.loupe.lens;

import dev.loupe.LoupeException;

/**
 * A lens used with a model it does not fit: another width, layer count or unembedding, or a
 * residual stream in another basis (weights processed differently from those it was trained on).
 */
public class LensMismatchException extends LoupeException {
    public LensMismatchException(String message) {
        super(message);
    }
}
