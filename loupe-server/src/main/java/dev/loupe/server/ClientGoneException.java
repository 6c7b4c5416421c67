package dev.loupe.server;

import java.io.IOException;

/** A streamed answer's client went away: nothing more can be written to it, and its run has stopped. */
final class ClientGoneException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ClientGoneException(IOException cause) {
        super(cause);
    }
}
