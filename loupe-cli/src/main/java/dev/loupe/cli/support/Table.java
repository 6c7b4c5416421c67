package dev.loupe.cli.support;

import dev.loupe.tokenize.TokenDisplay;
import dev.loupe.tokenize.Tokenizer;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A text table as the commands print them: a header row, then rows, in columns two spaces apart,
 * each as wide as its widest cell (counted in code points, so that ␣ and … take one), left-aligned
 * unless {@link #alignRight} says otherwise, with no trailing spaces. The static methods format the
 * cells the tables share: tokens and probabilities.
 */
public final class Table {
    /** The longest token shown in a cell, in code points. */
    public static final int TOKEN_WIDTH = 20;

    private final List<String[]> rows = new ArrayList<>();
    private final boolean[] right;
    private String indent = "";

    private Table(String[] header) {
        rows.add(header);
        right = new boolean[header.length];
    }

    /** A table with these column headers. */
    public static Table withHeader(String... header) {
        return new Table(header.clone());
    }

    /** Right-aligns these columns (numbers). */
    public Table alignRight(int... columns) {
        for (int column : columns) {
            right[column] = true;
        }
        return this;
    }

    /** Puts {@code spaces} spaces in front of every line. */
    public Table indent(int spaces) {
        indent = " ".repeat(spaces);
        return this;
    }

    /** Adds a row of one cell per column. */
    public Table row(String... cells) {
        if (cells.length != right.length) {
            throw new IllegalArgumentException("a row of " + cells.length + " cells in a table of " + right.length
                    + " columns");
        }
        rows.add(cells.clone());
        return this;
    }

    /** Prints the table, one line per row. */
    public void print(PrintWriter out) {
        lines().forEach(out::println);
    }

    /** The table's lines, each ending in a line break. */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        lines().forEach(line -> text.append(line).append('\n'));
        return text.toString();
    }

    private List<String> lines() {
        int[] width = new int[right.length];
        for (String[] row : rows) {
            for (int c = 0; c < width.length; c++) {
                width[c] = Math.max(width[c], length(row[c]));
            }
        }
        List<String> lines = new ArrayList<>();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder(indent);
            for (int c = 0; c < width.length; c++) {
                String pad = " ".repeat(width[c] - length(row[c]));
                line.append(c == 0 ? "" : "  ").append(right[c] ? pad + row[c] : row[c] + pad);
            }
            lines.add(line.toString().stripTrailing());
        }
        return lines;
    }

    /** A token for a cell: ␣ for spaces, escapes for line breaks and control characters, at most 20 characters. */
    public static String token(String token) {
        return TokenDisplay.shorten(TokenDisplay.display(token), TOKEN_WIDTH);
    }

    /**
     * Token {@code id} for a cell: as {@link #token(String)}, or {@code #id} without a tokenizer.
     *
     * @param tokenizer the model's tokenizer, or null when it has none
     */
    public static String token(Tokenizer tokenizer, long id) {
        return TokenDisplay.shorten(TokenDisplay.label(tokenizer, id), TOKEN_WIDTH);
    }

    /** A probability with six decimals ({@code 0.010231}). */
    public static String probability(float p) {
        return String.format(Locale.ROOT, "%.6f", p);
    }

    private static int length(String text) {
        return text.codePointCount(0, text.length());
    }
}
