package dev.loupe;

/** A checkpoint or model folder that cannot be read: missing, truncated, malformed or unsupported. */
public class CheckpointException extends LoupeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
