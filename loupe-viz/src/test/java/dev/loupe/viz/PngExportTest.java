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
