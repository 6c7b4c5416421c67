package dev.loupe.viz;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.GraphicsEnvironment;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PngExportTest {
    /** Kept for people to look at. */
    private static final Path OUT = Path.of("target/png");

    @TempDir
    Path dir;

    @Test
    void runsHeadless() {
        assertThat(GraphicsEnvironment.isHeadless()).as("tests run with -Djava.awt.headless=true").isTrue();
    }

    @Test
    void patchingHeatmapHasItsLayoutSizeAndVaryingPixels() throws Exception {
        Heatmap map = DemoData.get().patching; // [2 layers, 11 positions]
        Path file = PngExport.write(PngExport.render(map), dir.resolve("sub/patching.png"));
        copyForPeople(file);

        BufferedImage image = ImageIO.read(file.toFile());
        assertThat(image.getWidth()).isEqualTo(PngExport.LEFT + 11 * PngExport.CELL + PngExport.RIGHT).isEqualTo(608);
        assertThat(image.getHeight()).isEqualTo(PngExport.TOP + 2 * PngExport.CELL + PngExport.BOTTOM).isEqualTo(196);
        assertThat(PngExport.size(map)).containsExactly(608, 196);
        assertThat(distinctColours(image)).isGreaterThan(30);

        // The cell of layer 0, position 2 has the scale's colour of its value, as the page has.
        int x = PngExport.LEFT + 2 * PngExport.CELL + PngExport.CELL / 2;
        int y = PngExport.TOP + PngExport.CELL / 2;
        assertThat(image.getRGB(x, y) & 0xffffff).isEqualTo(map.scale().rgb(map.values()[0][2]));
        assertThat(map.values()[0][2]).as("patching the changed token restores the clean answer").isNotZero();
    }

    /**
     * The heads-patching image of a small model (2 layers of 4 heads) once cut its long title with … and left
     * the legend far from the narrow grid: the title now wraps inside the image, the grid moves down under it, and
     * the legend starts a fixed gap after the grid.
     */
    @Test
    void aLongTitleWrapsInsideTheImageAndTheLegendSitsNextToTheGrid() throws Exception {
        float[][] values = {{-3, -1, 0, 2}, {1, 3, -2, 0.5f}};
        List<String> layers = List.of("0", "1");
        List<String> heads = List.of("0", "1", "2", "3");
        String title = "Activation patching of attn.hook_z (each head, all positions): \u201c\u2423Paris\u201d vs"
                + " \u201c\u2423Rome\u201d";
        Heatmap map = Heatmap.diverging(title, "layer", layers, "head", heads, values, "logit diff restored");
        BufferedImage image = PngExport.render(map);
        copyForPeople(PngExport.write(image, dir.resolve("heads.png")));

        List<String> lines = PngExport.titleLines(map);
        assertThat(lines).hasSizeGreaterThan(1);
        assertThat(String.join(" ", lines)).isEqualTo(title).doesNotContain("\u2026");
        int top = PngExport.TOP + (lines.size() - 1) * PngExport.TITLE_LINE;
        assertThat(image.getHeight()).isEqualTo(top + 2 * PngExport.CELL + PngExport.BOTTOM);
        assertThat(PngExport.size(map)).containsExactly(image.getWidth(), image.getHeight());
        // Every title line has ink inside the image, and nothing is drawn over the grid's first row.
        for (int i = 0; i < lines.size(); i++) {
            assertThat(inkInRows(image, 24 + i * PngExport.TITLE_LINE - 12, 24 + i * PngExport.TITLE_LINE))
                    .as("title line " + i).isPositive();
        }
        assertThat(image.getRGB(PngExport.LEFT + PngExport.CELL / 2, top + PngExport.CELL / 2) & 0xffffff)
                .isEqualTo(map.scale().rgb(values[0][0]));
        // The legend bar starts 24 px after the grid's right edge.
        int gridRight = PngExport.LEFT + 4 * PngExport.CELL;
        int y = top + 20;
        int legend = gridRight;
        while (legend < image.getWidth() && (image.getRGB(legend, y) & 0xffffff) == 0xffffff) {
            legend++;
        }
        assertThat(legend - gridRight).isBetween(16, 32);
    }

    private static int inkInRows(BufferedImage image, int from, int to) {
        int ink = 0;
        for (int y = Math.max(0, from); y < to; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                ink += (image.getRGB(x, y) & 0xffffff) == 0xffffff ? 0 : 1;
            }
        }
        return ink;
    }

    @Test
    void trajectoryImageHasTextCells() throws Exception {
        TrajectoryData trajectory = DemoData.get().trajectory; // 3 rows (layer 0, layer 1, output) × 11 positions
        for (TrajectoryData.Statistic statistic : TrajectoryData.Statistic.values()) {
            Path file = PngExport.write(PngExport.render(trajectory, statistic),
                    dir.resolve("trajectory-" + statistic.key() + ".png"));
            copyForPeople(file);
            BufferedImage image = ImageIO.read(file.toFile());
            assertThat(image.getWidth()).isEqualTo(PngExport.LEFT + 11 * PngExport.TEXT_CELL_WIDTH + PngExport.RIGHT);
            assertThat(image.getHeight()).isEqualTo(PngExport.TOP + 3 * PngExport.TEXT_CELL_HEIGHT + PngExport.BOTTOM);
            assertThat(distinctColours(image)).as(statistic.key()).isGreaterThan(30);
        }
        Heatmap map = trajectory.toHeatmap(TrajectoryData.Statistic.KL);
        assertThat(map.rowLabels()).containsExactly("output", "layer 1", "layer 0");
        assertThat(map.values()[0]).as("KL of the output to itself").containsOnly(0f);
        assertThat(map.cellText()[2][4]).isEqualTo(trajectory.cells().get(0).get(4).topTokens().get(0));
    }

    @Test
    void attentionImageHasAPanelPerHead() throws Exception {
        AttentionPatterns layer = DemoData.get().attention.get(1); // 4 heads, 11 positions
        Path file = PngExport.write(PngExport.render(layer), dir.resolve("attention.png"));
        copyForPeople(file);
        BufferedImage image = ImageIO.read(file.toFile());
        List<Heatmap> heads = PngExport.headHeatmaps(layer);
        assertThat(heads).hasSize(4);
        int[] panel = PngExport.size(heads.get(0));
        assertThat(image.getWidth()).isEqualTo(4 * panel[0]);
        assertThat(image.getHeight()).isEqualTo(panel[1]);
        assertThat(distinctColours(image)).isGreaterThan(30);
        // Each panel's first cell (BOS attends to itself with weight 1) is its head's full colour.
        int[] colors = ColorScale.headColors(4);
        for (int h = 0; h < 4; h++) {
            int rgb = image.getRGB(h * panel[0] + PngExport.LEFT + 3, PngExport.TOP + 3) & 0xffffff;
            assertThat(rgb).as("head %d", h).isEqualTo(colors[h]);
        }
    }

    @Test
    void aBlankInputStillDrawsLabelsButAUniformGrid() {
        float[][] zeros = new float[2][3];
        Heatmap map = Heatmap.diverging("zeros", "row", List.of("a", "b"), "col", List.of("x", "y", "z"), zeros, "v");
        BufferedImage image = PngExport.render(map);
        Set<Integer> cells = new HashSet<>();
        for (int r = 0; r < 2; r++) {
            for (int c = 0; c < 3; c++) {
                cells.add(image.getRGB(PngExport.LEFT + c * PngExport.CELL + 5, PngExport.TOP + r * PngExport.CELL + 5));
            }
        }
        assertThat(cells).as("zero is the scale's middle, the same everywhere").hasSize(1);
    }

    /** A caption sits above the untouched image, wraps inside its width, and different texts draw differently. */
    @Test
    void aCaptionWrapsAboveTheImageWhichItLeavesAsItWas() throws Exception {
        BufferedImage image = PngExport.render(DemoData.get().patching); // 608 px wide
        String random = "Random weights (drawn with seed 4242, as this fixture's reference.json records): these views"
                + " show the machinery, not what a trained model does.";
        BufferedImage captioned = PngExport.caption(image, random);
        int band = PngExport.captionHeight(random, image.getWidth());
        assertThat(band).as("two lines at 608 px").isEqualTo(2 * PngExport.CAPTION_LINE + PngExport.CAPTION_GAP);
        assertThat(captioned.getWidth()).isEqualTo(image.getWidth());
        assertThat(captioned.getHeight()).isEqualTo(image.getHeight() + band);
        for (int y = 0; y < image.getHeight(); y += 7) {
            for (int x = 0; x < image.getWidth(); x += 7) {
                assertThat(captioned.getRGB(x, y + band)).as("pixel %d, %d", x, y).isEqualTo(image.getRGB(x, y));
            }
        }
        BufferedImage trained = PngExport.caption(image, "Trained weights: Loupe trained this model for 6000 steps"
                + " (final training loss 3.706; its training.json and MODEL.md say how).");
        assertThat(distinctColours(captioned.getSubimage(0, 0, image.getWidth(), band))).as("text drawn").isGreaterThan(2);
        assertThat(rows(captioned, band)).isNotEqualTo(rows(trained, band));
        Path file = PngExport.write(captioned, dir.resolve("captioned.png"), random);
        copyForPeople(file);
        assertThat(PngExport.description(file)).as("the caption, readable from the file").isEqualTo(random);
        BufferedImage read = ImageIO.read(file.toFile());
        assertThat(rows(read, read.getHeight())).isEqualTo(rows(captioned, captioned.getHeight()));
        assertThat(PngExport.description(PngExport.write(image, dir.resolve("plain.png")))).isNull();
        String unicode = "Trained weights: the checkpoint as published in модель-é中.";
        assertThat(PngExport.description(PngExport.write(image, dir.resolve("unicode.png"), unicode))).isEqualTo(unicode);
    }

    private static int[] rows(BufferedImage image, int height) {
        return image.getRGB(0, 0, image.getWidth(), height, null, 0, image.getWidth());
    }

    private static void copyForPeople(Path file) throws Exception {
        Files.createDirectories(OUT);
        Files.copy(file, OUT.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static int distinctColours(BufferedImage image) {
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                colours.add(image.getRGB(x, y) & 0xffffff);
            }
        }
        return colours.size();
    }
}
