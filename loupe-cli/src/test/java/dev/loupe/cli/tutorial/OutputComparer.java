package dev.loupe.cli.tutorial;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compares what a tutorial block printed with the output block the page shows after it.
 *
 * <p>Lines are compared one by one, with runs of spaces counting as one space and trailing spaces and blank
 * lines at the end ignored (tables may realign). Within a line the text between numbers must be equal. A
 * number written with a decimal point or an exponent matches when it is within {@code tolerance ×
 * max(1, |expected|)} of the page's; a whole number (a shape, a token id, a layer) must be equal.
 */
final class OutputComparer {
    private static final Pattern NUMBER = Pattern.compile("-?(?:\\d+\\.\\d*|\\.\\d+|\\d+)(?:[eE][-+]?\\d+)?");

    private OutputComparer() {}

    /**
     * The first difference between {@code expected} and {@code actual}, or empty when they match.
     *
     * @param tolerance the relative tolerance for numbers with a decimal point (absolute below 1)
     */
    static Optional<String> difference(String expected, String actual, double tolerance) {
        List<String> want = lines(expected);
        List<String> got = lines(actual);
        for (int i = 0; i < Math.max(want.size(), got.size()); i++) {
            if (i >= want.size()) {
                return Optional.of("line " + (i + 1) + " was printed but the page shows no more: " + got.get(i));
            }
            if (i >= got.size()) {
                return Optional.of("line " + (i + 1) + " of the page was not printed: " + want.get(i));
            }
            Optional<String> line = lineDifference(want.get(i), got.get(i), tolerance);
            if (line.isPresent()) {
                return Optional.of("line " + (i + 1) + ": " + line.get() + "\n  page:    " + want.get(i)
                        + "\n  printed: " + got.get(i));
            }
        }
        return Optional.empty();
    }

    private static Optional<String> lineDifference(String expected, String actual, double tolerance) {
        List<String> want = pieces(expected);
        List<String> got = pieces(actual);
        if (want.size() != got.size()) {
            return Optional.of("the text differs");
        }
        for (int i = 0; i < want.size(); i++) {
            String w = want.get(i);
            String g = got.get(i);
            boolean number = NUMBER.matcher(w).matches();
            if (number != NUMBER.matcher(g).matches()) {
                return Optional.of("the text differs");
            }
            if (!number) {
                if (!w.equals(g)) {
                    return Optional.of("the text differs");
                }
            } else if (!numbersMatch(w, g, tolerance)) {
                return Optional.of(String.format(Locale.ROOT, "the number %s was printed as %s (tolerance %s)", w, g,
                        isWhole(w) ? "none: a whole number" : tolerance + " × max(1, |x|)"));
            }
        }
        return Optional.empty();
    }

    private static boolean numbersMatch(String expected, String actual, double tolerance) {
        if (isWhole(expected) || isWhole(actual)) {
            return expected.equals(actual);
        }
        double want = Double.parseDouble(expected);
        double got = Double.parseDouble(actual);
        return Math.abs(want - got) <= tolerance * Math.max(1, Math.abs(want));
    }

    private static boolean isWhole(String number) {
        return !number.contains(".") && !number.contains("e") && !number.contains("E");
    }

    /** The line cut into numbers and the text between them. */
    private static List<String> pieces(String line) {
        List<String> pieces = new ArrayList<>();
        Matcher m = NUMBER.matcher(line);
        int at = 0;
        while (m.find()) {
            // A digit glued to a word ("L1H3", "blocks.0") splits the same way on both sides, so it still compares.
            if (m.start() > at) {
                pieces.add(line.substring(at, m.start()));
            }
            pieces.add(m.group());
            at = m.end();
        }
        if (at < line.length()) {
            pieces.add(line.substring(at));
        }
        return pieces;
    }

    private static List<String> lines(String text) {
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\\R", -1)) {
            lines.add(line.replaceAll("\\s+", " ").strip());
        }
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        return lines;
    }
}
