package dev.loupe.server;

import dev.loupe.LoupeException;

/** An answer other than 200 with a message for the client: an unknown path, a wrong token, a busy server. */
public class ApiException extends LoupeException {
    private static final long serialVersionUID = 1L;

    private final int status;

    /**
     * @param status the HTTP status (4xx or 503)
     * @param message what went wrong and how to fix it
     */
    public ApiException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }
}
