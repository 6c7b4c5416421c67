package dev.loupe;

/**
 * Base of every error Loupe raises on bad input. The message always names the problem and,
 * where there is one, the fix.
 */
public class LoupeException extends RuntimeException {
    public LoupeException(String message) {
        super(message);
    }

    public LoupeException(String message, Throwable cause) {
        super(message, cause);
    }
}
