package dev.loupe.server.explore;

import java.util.List;

/**
 * A prompt's tokens, {@code POST /api/v1/tokenize}.
 *
 * @param tokens ids [pos]
 * @param strings as shown [pos]
 */
public record TokenView(long[] tokens, List<String> strings) {

    /** What a tokenize request sends. */
    public record Request(String model, Prompt prompt) {}

    /** The tokens of {@code ids}. */
    public static TokenView of(ServedModel served, long[] ids) {
        return new TokenView(ids, served.labels(ids));
    }
}
