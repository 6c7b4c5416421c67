package dev.loupe.cli.command;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.train.toy.PhaseRecord;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe train toy --track DIR} on a tiny model: the tracking file and its picture. */
class ToyTrackCommandTest {
    @TempDir
    Path dir;

    @Test
    void tracksEveryNStepsAndDrawsThePhaseChangePicture() throws Exception {
        Path track = dir.resolve("track");
        CliTestSupport.Result result = CliTestSupport.run("train", "toy", "--layers", "2", "--d-model", "16",
                "--heads", "2", "--vocab", "40", "--context", "64", "--steps", "4", "--batch-size", "2",
                "--out", dir.resolve("model").toString(), "--track", track.toString(), "--track-every", "2");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains("Tracked 3 steps into");
        assertThat(PhaseRecord.read(track.resolve("tracking.csv"))).extracting(PhaseRecord::step)
                .containsExactly(0L, 2L, 4L);
        BufferedImage picture = ImageIO.read(track.resolve("phase-change.png").toFile());
        // Four heatmaps stacked: heads' induction, heads' previous-token, ICL score, loss.
        assertThat(picture.getHeight()).isGreaterThan(4 * 140);
        assertThat(picture.getRGB(140, 60)).as("a drawn cell, not the white background").isNotEqualTo(0xFFFFFFFF);
    }
}
