package dev.loupe.lens.stats;

import dev.loupe.LoupeException;

/**
 * A range of positions with Python's slice semantics: {@code start:end}, either end open (null),
 * negative counting from the end.
 *
 * @param start first position kept, or null for 0
 * @param end first position not kept, or null for the end
 */
public record PositionSlice(Integer start, Integer end) {

    /** Parses {@code "a:b"}, {@code "a:"}, {@code ":b"} (integers, possibly negative). */
    public static PositionSlice parse(String text) {
        int colon = text.indexOf(':');
        if (colon < 0 || text.indexOf(':', colon + 1) >= 0) {
            throw new LoupeException("A slice is START:END (either may be left out, e.g. 2:9 or :-1), got '" + text + "'");
        }
        try {
            return new PositionSlice(bound(text.substring(0, colon)), bound(text.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new LoupeException("A slice is START:END with integers (e.g. 2:9), got '" + text + "'", e);
        }
    }

    private static Integer bound(String text) {
        return text.isBlank() ? null : Integer.valueOf(text.strip());
    }
}
