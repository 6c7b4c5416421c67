package dev.loupe.cli.tutorial;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every page of docs/tutorials runs: its Java blocks, in order, in one JShell with {@code loupe shell}'s
 * start-up, each block's printed output equal to the page's output block ({@link OutputComparer}), and every
 * picture the page shows written by the run under {@code target/tutorials/} and not blank.
 *
 * <p>{@code -Dloupe.tutorials.refresh=true} then copies the pictures into docs/tutorials/images (the
 * command is in docs/tutorials/README.md).
 */
class TutorialsTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path PAGES = ROOT.resolve("docs/tutorials");
    private static final Path WRITTEN = ROOT.resolve("target/tutorials");
    /** A blank or one-colour picture has a handful of colours; a heatmap or a plot has many. */
    private static final int MIN_COLOURS = 16;

    @TestFactory
    Stream<DynamicTest> everyTutorialRunsAndPrintsWhatItsPageShows() throws IOException {
        List<Path> pages;
        try (Stream<Path> files = Files.list(PAGES)) {
            // -Dloupe.tutorials.only=NAME runs the pages whose file name contains NAME (while writing one).
            String only = System.getProperty("loupe.tutorials.only", "");
            pages = files.filter(f -> f.toString().endsWith(".md") && f.getFileName().toString().contains(only))
                    .sorted().toList();
        }
        assertThat(pages).as("tutorial pages in " + PAGES).isNotEmpty();
        return pages.stream().map(page -> DynamicTest.dynamicTest(page.getFileName().toString(), () -> run(page)));
    }

    private static void run(Path file) throws IOException, InterruptedException {
        TutorialPage page = TutorialPage.read(file);
        Instant started = Instant.now().minusSeconds(1);
        if (page.blocks().isEmpty()) {
            return;
        }
        Path work = WRITTEN.resolve("runs").resolve(file.getFileName().toString().replace(".md", ""));
        deleteRecursively(work);
        Files.createDirectories(work);
        TutorialJvm.Result result = TutorialJvm.run(ROOT, file, jvmFlags(), work);
        for (int i = 0; i < result.printed().size(); i++) {
            TutorialPage.Block block = page.blocks().get(i);
            String where = ROOT.relativize(file) + ":" + block.line();
            if (block.expectedOutput() != null) {
                Optional<String> difference = OutputComparer.difference(block.expectedOutput(), result.printed().get(i),
                        block.tolerance());
                assertThat(difference).as(where + ": the block printed\n" + result.printed().get(i)).isEmpty();
            }
        }
        assertThat(result.failure()).as("the run of " + ROOT.relativize(file)).isNull();
        for (String image : page.images()) {
            checkPicture(file, image, started);
        }
    }

    private static void checkPicture(Path page, String image, Instant started) throws IOException {
        Path written = WRITTEN.resolve(image);
        assertThat(written).as(page + " shows images/" + image + ", which its blocks must write to " + written)
                .exists();
        assertThat(Files.getLastModifiedTime(written)).as(written + " written by this run")
                .isGreaterThan(FileTime.from(started));
        BufferedImage picture = ImageIO.read(written.toFile());
        assertThat(picture).as(written + " is a PNG").isNotNull();
        assertThat(colours(picture)).as(written + ": colours in the picture (a blank one has few)")
                .isGreaterThanOrEqualTo(MIN_COLOURS);
        Path committed = page.resolveSibling("images").resolve(image);
        if (Boolean.getBoolean("loupe.tutorials.refresh")) {
            Files.createDirectories(committed.getParent());
            Files.copy(written, committed, StandardCopyOption.REPLACE_EXISTING);
        }
        assertThat(committed).as(committed + " is committed (refresh with the command in docs/tutorials/README.md)")
                .exists();
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    private static int colours(BufferedImage picture) {
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < picture.getHeight(); y++) {
            for (int x = 0; x < picture.getWidth(); x++) {
                colours.add(picture.getRGB(x, y));
            }
        }
        return colours.size();
    }

    /** The tests' own JVM flags (offline DJL, quiet logging, native access), which the pom passes on. */
    private static List<String> jvmFlags() {
        String flags = System.getProperty("loupe.test.jvmFlags", "").strip();
        return flags.isEmpty() ? List.of() : List.of(flags.split("\\s+"));
    }

    static {
        try {
            Files.createDirectories(WRITTEN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
