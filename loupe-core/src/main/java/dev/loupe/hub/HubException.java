package dev.loupe.hub;

import dev.loupe.LoupeException;

/** A file or model that could not be fetched from the Hub or found in its cache; {@link #reason()} says why. */
public class HubException extends LoupeException {
    /** Why a fetch failed. */
    public enum Reason {
        /** A name that is neither a folder, a TransformerLens name nor a repository id. */
        BAD_NAME,
        /** The repository is gated or private and the token (if any) may not read it (HTTP 401 or 403). */
        GATED,
        /** No such repository (HTTP 404, or 401 with the Hub's {@code RepoNotFound}). */
        REPO_NOT_FOUND,
        /** The repository exists but the revision does not. */
        REVISION_NOT_FOUND,
        /** The repository exists but not the file. */
        FILE_NOT_FOUND,
        /** Offline mode is on (or the Hub cannot be reached) and the file is not in the cache. */
        NOT_CACHED,
        /** The Hub could not be reached or answered with an error. */
        NETWORK,
        /**
         * The server answered, but not as the Hub does: a redirect loop, a redirect to an address
         * that is not http or https, no file size, an ETag that cannot name a file. Unlike
         * {@link #NETWORK} this is not taken as "offline": the cache does not stand in for it.
         */
        BAD_RESPONSE,
        /** The downloaded bytes are not the file the Hub announced (size or sha256). */
        CORRUPT,
        /** The disk filled up; the partial file was removed. */
        DISK_FULL
    }

    private final Reason reason;

    public HubException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public HubException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** Why the fetch failed. */
    public Reason reason() {
        return reason;
    }
}
