package dev.loupe.cli.tutorial;

import dev.loupe.LoupeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Markdown tutorial read as what its test runs: its {@code ```java} blocks in order, each with the
 * {@code ```output} block that follows it (if any), and the pictures it shows.
 *
 * <p>A {@code <!-- tolerance X -->} comment sets the relative tolerance of the numbers in the output blocks
 * after it ({@link #DEFAULT_TOLERANCE} before any).
 *
 * @param file the page
 * @param blocks its Java blocks, in order
 * @param images the file names of the pictures it shows from {@code images/}
 */
record TutorialPage(Path file, List<Block> blocks, List<String> images) {
    /** The tolerance of numbers until a page states its own. */
    static final double DEFAULT_TOLERANCE = 1e-3;

    private static final Pattern TOLERANCE = Pattern.compile("<!--\\s*tolerance\\s+([0-9][0-9.eE+-]*)\\s*-->");
    private static final Pattern IMAGE = Pattern.compile("!\\[[^]]*]\\(images/([^)]+\\.png)\\)");

    /**
     * One Java block.
     *
     * @param line the 1-based line of its opening fence
     * @param code its text, as a reader pastes it into {@code loupe shell}
     * @param expectedOutput the output block after it, or null when it prints nothing the page shows
     * @param tolerance the relative tolerance of numbers in that output
     */
    record Block(int line, String code, String expectedOutput, double tolerance) {}

    /** Reads {@code file}; a fence left open or an output block with no Java block before it is refused. */
    static TutorialPage read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<Block> blocks = new ArrayList<>();
        List<String> images = new ArrayList<>();
        double tolerance = DEFAULT_TOLERANCE;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            Matcher stated = TOLERANCE.matcher(line);
            if (stated.find()) {
                tolerance = Double.parseDouble(stated.group(1));
            }
            Matcher image = IMAGE.matcher(line);
            while (image.find()) {
                images.add(image.group(1));
            }
            if (!line.startsWith("```")) {
                continue;
            }
            String language = line.substring(3).strip();
            int start = i;
            StringBuilder body = new StringBuilder();
            for (i++; i < lines.size() && !lines.get(i).startsWith("```"); i++) {
                body.append(lines.get(i)).append('\n');
            }
            if (i == lines.size()) {
                throw new LoupeException(file + ":" + (start + 1) + ": the ``` fence is never closed; close it");
            }
            if (language.equals("java")) {
                blocks.add(new Block(start + 1, body.toString(), null, tolerance));
            } else if (language.equals("output")) {
                Block last = blocks.isEmpty() ? null : blocks.get(blocks.size() - 1);
                if (last == null || last.expectedOutput() != null) {
                    throw new LoupeException(file + ":" + (start + 1) + ": an output block must follow a java block");
                }
                blocks.set(blocks.size() - 1, new Block(last.line(), last.code(), body.toString(), tolerance));
            }
        }
        return new TutorialPage(file, List.copyOf(blocks), List.copyOf(images));
    }
}
