package dev.loupe.viz;

import dev.loupe.tokenize.TokenDisplay;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

/**
 * PNG images of the heatmaps, drawn with Java2D and no display (run with
 * {@code -Djava.awt.headless=true} on a server), for papers and terminals.
 *
 * <p>The layout is fixed, so an image's size follows from its shape and title alone ({@link #size}): a
 * title band of {@value #TOP} px (and {@value #TITLE_LINE} px more for each further line of a title too wide
 * for the image, which wraps at spaces rather than being cut), row labels in {@value #LEFT} px on the left, column labels (turned
 * upright) in {@value #BOTTOM} px below, the colour legend in {@value #RIGHT} px on the right, and
 * cells of {@value #CELL} px square, or {@value #TEXT_CELL_WIDTH} × {@value #TEXT_CELL_HEIGHT} px when
 * they hold text (a trajectory's top tokens). Labels too long for their space end in ….
 * {@link #caption} puts a line of text (wrapped at spaces) above a finished image, such as what the weights are.
 */
public final class PngExport {
    /** Title band height. */
    public static final int TOP = 40;
    /** Each further line of a wrapped title. */
    public static final int TITLE_LINE = 18;
    /** Row label width. */
    public static final int LEFT = 130;
    /** Column label height. */
    public static final int BOTTOM = 100;
    /** Legend width. */
    public static final int RIGHT = 170;
    /** A cell without text. */
    public static final int CELL = 28;
    /** A cell with text: width. */
    public static final int TEXT_CELL_WIDTH = 72;
    /** A cell with text: height. */
    public static final int TEXT_CELL_HEIGHT = 28;
    /** The keyword of the PNG text chunk {@link #write(BufferedImage, Path, String)} writes. */
    public static final String DESCRIPTION = "Description";
    /** The PNG metadata format of javax.imageio. */
    private static final String PNG_METADATA = "javax_imageio_png_1.0";
    /** Attention heads per row of panels. */
    public static final int HEADS_PER_ROW = 4;
    /** Each line of a caption ({@link #caption}). */
    public static final int CAPTION_LINE = 16;
    /** The space below a caption's last line. */
    public static final int CAPTION_GAP = 8;

    private static final Font LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    private static final Font CELL_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 14);
    private static final Color INK = new Color(0x1f2328);
    private static final Color MUTED = new Color(0x59636e);

    private PngExport() {}

    /** The size {@link #render(Heatmap)} gives a heatmap: {@code [width, height]} in pixels. */
    public static int[] size(Heatmap heatmap) {
        boolean text = heatmap.cellText() != null;
        int w = text ? TEXT_CELL_WIDTH : CELL;
        int h = text ? TEXT_CELL_HEIGHT : CELL;
        return new int[] {LEFT + heatmap.nColumns() * w + RIGHT, titleBand(heatmap) + heatmap.nRows() * h + BOTTOM};
    }

    /** The title band's height: {@value #TOP} px for one line, {@value #TITLE_LINE} px more per further line. */
    static int titleBand(Heatmap heatmap) {
        return TOP + (titleLines(heatmap).size() - 1) * TITLE_LINE;
    }

    /** The title broken at spaces into lines that fit the image's width (a word wider than that ends in …). */
    static List<String> titleLines(Heatmap heatmap) {
        boolean text = heatmap.cellText() != null;
        return wrap(heatmap.title(), TITLE, LEFT + heatmap.nColumns() * (text ? TEXT_CELL_WIDTH : CELL) + RIGHT - 16);
    }

    /** {@code text} broken at spaces into lines at most {@code width} px wide in {@code font} (a wider word ends in …). */
    private static List<String> wrap(String text, Font font, int width) {
        BufferedImage scratch = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = scratch.createGraphics();
        try {
            setUp(g, 1, 1);
            g.setFont(font);
            FontMetrics fm = g.getFontMetrics();
            List<String> lines = new ArrayList<>();
            StringBuilder line = new StringBuilder();
            for (String word : text.split(" ")) {
                String longer = line.length() == 0 ? word : line + " " + word;
                if (line.length() > 0 && fm.stringWidth(longer) > width) {
                    lines.add(line.toString());
                    line = new StringBuilder(word);
                } else {
                    line = new StringBuilder(longer);
                }
            }
            lines.add(line.toString());
            return lines.stream().map(l -> fit(g, l, width)).toList();
        } finally {
            g.dispose();
        }
    }

    /** Draws a heatmap: title, labelled cells (with their text, if any) and a legend. */
    public static BufferedImage render(Heatmap heatmap) {
        int[] size = size(heatmap);
        BufferedImage image = new BufferedImage(size[0], size[1], BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            setUp(g, size[0], size[1]);
            draw(g, heatmap);
        } finally {
            g.dispose();
        }
        return image;
    }

    /** A trajectory's top tokens, coloured by {@code statistic}: {@link TrajectoryData#toHeatmap}. */
    public static BufferedImage render(TrajectoryData trajectory, TrajectoryData.Statistic statistic) {
        return render(trajectory.toHeatmap(statistic));
    }

    /**
     * One panel per head, {@value #HEADS_PER_ROW} to a row, each the head's pattern (destination rows,
     * source columns) in the head's colour, as CircuitsVis shows them.
     */
    public static BufferedImage render(AttentionPatterns patterns) {
        List<BufferedImage> panels = new ArrayList<>();
        for (Heatmap head : headHeatmaps(patterns)) {
            panels.add(render(head));
        }
        int columns = Math.min(HEADS_PER_ROW, panels.size());
        int rows = (panels.size() + columns - 1) / columns;
        int w = panels.get(0).getWidth();
        int h = panels.get(0).getHeight();
        BufferedImage image = new BufferedImage(columns * w, rows * h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            setUp(g, image.getWidth(), image.getHeight());
            for (int i = 0; i < panels.size(); i++) {
                g.drawImage(panels.get(i), (i % columns) * w, (i / columns) * h, null);
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /**
     * {@code image} with {@code text} above it, in lines of {@value #CAPTION_LINE} px wrapped at spaces to the image's
     * width, and {@value #CAPTION_GAP} px below them: the image grows by {@link #captionHeight} px.
     */
    public static BufferedImage caption(BufferedImage image, String text) {
        List<String> lines = wrap(text, LABEL, image.getWidth() - 16);
        int band = lines.size() * CAPTION_LINE + CAPTION_GAP;
        BufferedImage out = new BufferedImage(image.getWidth(), image.getHeight() + band, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            setUp(g, out.getWidth(), out.getHeight());
            g.setFont(LABEL);
            g.setColor(INK);
            for (int i = 0; i < lines.size(); i++) {
                g.drawString(lines.get(i), 8, (i + 1) * CAPTION_LINE);
            }
            g.drawImage(image, 0, band, null);
        } finally {
            g.dispose();
        }
        return out;
    }

    /** How many pixels {@link #caption} adds above an image {@code width} px wide for {@code text}. */
    public static int captionHeight(String text, int width) {
        return wrap(text, LABEL, width - 16).size() * CAPTION_LINE + CAPTION_GAP;
    }

    /** Images one below the other, left-aligned on white (several layers' attention panels, say). */
    public static BufferedImage stack(List<BufferedImage> images) {
        if (images.isEmpty()) {
            throw new IllegalArgumentException("stack needs at least one image");
        }
        int width = images.stream().mapToInt(BufferedImage::getWidth).max().orElseThrow();
        int height = images.stream().mapToInt(BufferedImage::getHeight).sum();
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            setUp(g, width, height);
            int y = 0;
            for (BufferedImage part : images) {
                g.drawImage(part, 0, y, null);
                y += part.getHeight();
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /** Each head of a layer as a heatmap [query_pos, key_pos], white to the head's colour. */
    public static List<Heatmap> headHeatmaps(AttentionPatterns patterns) {
        int[] colors = ColorScale.headColors(patterns.nHeads());
        List<Heatmap> heads = new ArrayList<>();
        for (int h = 0; h < patterns.nHeads(); h++) {
            heads.add(new Heatmap("Layer " + patterns.layer() + ", head " + h, "destination", patterns.tokens(),
                    "source", patterns.tokens(), patterns.pattern()[h], "attention weight",
                    ColorScale.whiteTo(colors[h], 0, 1), null));
        }
        return heads;
    }

    /** Writes {@code image} as PNG atomically (a temporary file moved into place); creates parent folders. */
    public static Path write(BufferedImage image, Path file) {
        return AtomicFiles.write(file, "image", temporary -> {
            if (!ImageIO.write(image, "png", temporary.toFile())) {
                throw new IOException("this Java has no PNG writer");
            }
        });
    }

    /**
     * Writes {@code image} as {@link #write(BufferedImage, Path)} does, with {@code description} also in the file's
     * metadata (a PNG {@code iTXt} chunk with the keyword {@value #DESCRIPTION}), where tools and tests can read what
     * the caption says ({@link #description}).
     */
    public static Path write(BufferedImage image, Path file, String description) {
        return AtomicFiles.write(file, "image", temporary -> {
            ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
            ImageTypeSpecifier type = ImageTypeSpecifier.createFromRenderedImage(image);
            IIOMetadata metadata = writer.getDefaultImageMetadata(type, null);
            // iTXt rather than tEXt: its text is UTF-8, so a folder name in any script is kept as it is.
            IIOMetadataNode entry = new IIOMetadataNode("iTXtEntry");
            entry.setAttribute("keyword", DESCRIPTION);
            entry.setAttribute("compressionFlag", "FALSE");
            entry.setAttribute("compressionMethod", "0");
            entry.setAttribute("languageTag", "");
            entry.setAttribute("translatedKeyword", "");
            entry.setAttribute("text", description);
            IIOMetadataNode text = new IIOMetadataNode("iTXt");
            text.appendChild(entry);
            IIOMetadataNode root = new IIOMetadataNode(PNG_METADATA);
            root.appendChild(text);
            metadata.mergeTree(PNG_METADATA, root);
            try (ImageOutputStream out = ImageIO.createImageOutputStream(temporary.toFile())) {
                writer.setOutput(out);
                writer.write(new IIOImage(image, null, metadata));
            } finally {
                writer.dispose();
            }
        });
    }

    /** The {@value #DESCRIPTION} text {@link #write(BufferedImage, Path, String)} put in {@code file}, or null. */
    public static String description(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            ImageReader reader = ImageIO.getImageReaders(in).next();
            try {
                reader.setInput(in);
                Node root = reader.getImageMetadata(0).getAsTree(PNG_METADATA);
                for (Node chunk = root.getFirstChild(); chunk != null; chunk = chunk.getNextSibling()) {
                    for (Node entry = chunk.getFirstChild(); entry != null && chunk.getNodeName().equals("iTXt");
                            entry = entry.getNextSibling()) {
                        NamedNodeMap attributes = entry.getAttributes();
                        if (DESCRIPTION.equals(attributes.getNamedItem("keyword").getNodeValue())) {
                            return attributes.getNamedItem("text").getNodeValue();
                        }
                    }
                }
                return null;
            } finally {
                reader.dispose();
            }
        }
    }

    private static void setUp(Graphics2D g, int width, int height) {
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
    }

    private static void draw(Graphics2D g, Heatmap map) {
        boolean text = map.cellText() != null;
        int cw = text ? TEXT_CELL_WIDTH : CELL;
        int ch = text ? TEXT_CELL_HEIGHT : CELL;
        int gridW = map.nColumns() * cw;
        int gridH = map.nRows() * ch;
        List<String> title = titleLines(map);
        // Everything below the title moves down with its extra lines.
        int top = TOP + (title.size() - 1) * TITLE_LINE;

        g.setFont(TITLE);
        g.setColor(INK);
        for (int i = 0; i < title.size(); i++) {
            g.drawString(title.get(i), 8, 24 + i * TITLE_LINE);
        }

        for (int r = 0; r < map.nRows(); r++) {
            for (int c = 0; c < map.nColumns(); c++) {
                int rgb = map.scale().rgb(map.values()[r][c]);
                int x = LEFT + c * cw;
                int y = top + r * ch;
                g.setColor(new Color(rgb));
                g.fillRect(x, y, cw, ch);
                if (text) {
                    g.setFont(CELL_FONT);
                    g.setColor(new Color(ColorScale.textOn(rgb)));
                    String label = fit(g, map.cellText()[r][c], cw - 4);
                    FontMetrics fm = g.getFontMetrics();
                    g.drawString(label, x + (cw - fm.stringWidth(label)) / 2,
                            y + (ch + fm.getAscent() - fm.getDescent()) / 2);
                }
            }
        }
        // Thin white lines between cells, as the page draws them.
        g.setColor(new Color(255, 255, 255, 140));
        g.setStroke(new BasicStroke(1f));
        for (int c = 1; c < map.nColumns(); c++) {
            g.drawLine(LEFT + c * cw, top, LEFT + c * cw, top + gridH - 1);
        }
        for (int r = 1; r < map.nRows(); r++) {
            g.drawLine(LEFT, top + r * ch, LEFT + gridW - 1, top + r * ch);
        }

        g.setFont(LABEL);
        FontMetrics fm = g.getFontMetrics();
        g.setColor(INK);
        for (int r = 0; r < map.nRows(); r++) {
            String label = fit(g, map.rowLabels().get(r), LEFT - 12);
            int baseline = top + r * ch + (ch + fm.getAscent() - fm.getDescent()) / 2;
            g.drawString(label, LEFT - 6 - fm.stringWidth(label), baseline);
        }
        AffineTransform plain = g.getTransform();
        // Short labels (head numbers) read best upright; tokens are turned to fit narrow columns.
        boolean upright = map.columnLabels().stream().allMatch(l -> l.codePointCount(0, l.length()) <= 3);
        for (int c = 0; c < map.nColumns() && upright; c++) {
            String label = fit(g, map.columnLabels().get(c), cw);
            g.drawString(label, LEFT + c * cw + (cw - fm.stringWidth(label)) / 2, top + gridH + 6 + fm.getAscent());
        }
        for (int c = 0; c < map.nColumns() && !upright; c++) {
            String label = fit(g, map.columnLabels().get(c), BOTTOM - 28);
            int x = LEFT + c * cw + (cw + fm.getAscent() - fm.getDescent()) / 2;
            int y = top + gridH + 6 + fm.stringWidth(label);
            g.translate(x, y);
            g.rotate(-Math.PI / 2);
            g.drawString(label, 0, 0);
            g.setTransform(plain);
        }
        g.setColor(MUTED);
        String axis = (map.rowName().isEmpty() ? "" : map.rowName() + " ↓   ")
                + (map.columnName().isEmpty() ? "" : map.columnName() + " →");
        g.drawString(fit(g, axis, LEFT + gridW), 8, top + gridH + BOTTOM - 8);

        drawLegend(g, map.scale(), map.valueName(), LEFT + gridW + 24, top, Math.max(60, Math.min(gridH, 200)));
    }

    /** A vertical gradient bar, maximum on top, with its ends and the value's name. */
    private static void drawLegend(Graphics2D g, ColorScale scale, String name, int x, int y, int height) {
        int[] stops = scale.stops();
        int barW = 14;
        double step = (double) height / (stops.length - 1);
        for (int i = 0; i < stops.length - 1; i++) {
            int top = y + (int) Math.round(i * step);
            int bottom = y + (int) Math.round((i + 1) * step);
            // Top of the bar is the largest value: the last stop.
            g.setPaint(new GradientPaint(x, top, new Color(stops[stops.length - 1 - i]), x, bottom,
                    new Color(stops[stops.length - 2 - i])));
            g.fillRect(x, top, barW, bottom - top);
        }
        g.setColor(MUTED);
        g.drawRect(x, y, barW, height);
        g.setFont(LABEL);
        FontMetrics fm = g.getFontMetrics();
        g.drawString(number(scale.max()), x + barW + 6, y + fm.getAscent());
        g.drawString(number(scale.min()), x + barW + 6, y + height);
        g.setColor(INK);
        g.drawString(fit(g, name, RIGHT - 30), x, y + height + fm.getHeight() + 4);
    }

    private static String number(double value) {
        double a = Math.abs(value);
        return a != 0 && (a < 1e-3 || a >= 1e5) ? String.format(Locale.ROOT, "%.2e", value)
                : String.format(Locale.ROOT, "%.3f", value);
    }

    /** {@code text} shortened with … to fit {@code width} pixels in the current font. */
    private static String fit(Graphics2D g, String text, int width) {
        FontMetrics fm = g.getFontMetrics();
        if (fm.stringWidth(text) <= width) {
            return text;
        }
        int n = text.codePointCount(0, text.length());
        while (n > 1) {
            n--;
            String cut = TokenDisplay.shorten(text, n);
            if (fm.stringWidth(cut) <= width) {
                return cut;
            }
        }
        return "…";
    }
}
