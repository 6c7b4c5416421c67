package dev.loupe.server;

import dev.loupe.LoupeException;
import dev.loupe.server.explore.Limits;

/**
 * How the server listens and what it allows.
 *
 * @param host the address to bind (127.0.0.1 by default; any other needs a token)
 * @param port the port, 0 for any free one
 * @param token the access token the API asks for, or null on loopback for none
 * @param limits what one request may ask
 * @param maxBodyBytes the largest request body
 * @param concurrentRuns how many model runs at once
 * @param queuedRuns how many more may wait for a turn before the server answers "busy, retry"
 */
public record ServerOptions(String host, int port, String token, Limits limits, int maxBodyBytes, int concurrentRuns,
        int queuedRuns) {
    /** The address a server binds unless told otherwise. */
    public static final String LOOPBACK = "127.0.0.1";

    public ServerOptions {
        if (host == null || host.isBlank()) {
            throw new LoupeException("The host must be an address to bind, e.g. " + LOOPBACK);
        }
        if (port < 0 || port > 65535) {
            throw new LoupeException("The port must be 0..65535 (0 for any free port), got " + port);
        }
        if (!isLoopback(host) && (token == null || token.isEmpty())) {
            throw new LoupeException("Serving on " + host + " lets other machines in: give an access token (--token T),"
                    + " or bind " + LOOPBACK);
        }
        if (maxBodyBytes < 1024 || concurrentRuns < 1 || queuedRuns < 0) {
            throw new LoupeException("maxBodyBytes must be at least 1024, concurrentRuns at least 1 and queuedRuns at"
                    + " least 0");
        }
    }

    /** Loopback on {@code port}, no token, default limits, 64 KiB bodies, 2 runs at once and 8 waiting. */
    public static ServerOptions loopback(int port) {
        return new ServerOptions(LOOPBACK, port, null, Limits.defaults(), 64 * 1024, 2, 8);
    }

    /** These options with {@code value} as the token. */
    public ServerOptions withToken(String value) {
        return new ServerOptions(host, port, value, limits, maxBodyBytes, concurrentRuns, queuedRuns);
    }

    /** These options binding {@code value}. */
    public ServerOptions withHost(String value) {
        return new ServerOptions(value, port, token, limits, maxBodyBytes, concurrentRuns, queuedRuns);
    }

    /** These options with {@code running} runs at once and {@code waiting} more queued. */
    public ServerOptions withRuns(int running, int waiting) {
        return new ServerOptions(host, port, token, limits, maxBodyBytes, running, waiting);
    }

    /** These options with {@code value} as the limits. */
    public ServerOptions withLimits(Limits value) {
        return new ServerOptions(host, port, token, value, maxBodyBytes, concurrentRuns, queuedRuns);
    }

    /** A fresh random access token (128 bits, as hex), for a server that must have one. */
    public static String randomToken() {
        return AccessToken.generate();
    }

    /** Whether {@code host} is a loopback address by name. */
    public static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1") || host.equals("[::1]");
    }
}
