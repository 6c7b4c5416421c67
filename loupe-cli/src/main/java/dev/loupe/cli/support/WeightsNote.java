package dev.loupe.cli.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The line every page (the demo's, each {@code loupe view}) writes under its title about the model's weights,
 * so that nobody reads meaning into patterns of random numbers. A model folder has random weights when it is
 * one of the repository's test fixtures: a folder inside a {@code testdata} folder that holds
 * {@code FIXTURES.md} (the marker, which says the fixtures' weights are random); a folder with Loupe's
 * {@code training.json} was trained by Loupe; any other is taken as the trained checkpoint it was published as.
 */
public final class WeightsNote {
    /** The start of the random-weights line, for the pages' tests. */
    public static final String RANDOM = "Random weights";

    private WeightsNote() {}

    /** Whether {@code dir} is one of the repository's random-weight test fixtures (see the class's description). */
    public static boolean isRandomFixture(Path dir) {
        try {
            for (Path up = dir.toRealPath().getParent(); up != null; up = up.getParent()) {
                if (up.getFileName() != null && up.getFileName().toString().equals("testdata")
                        && Files.isRegularFile(up.resolve("FIXTURES.md"))) {
                    return true;
                }
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The line for the model in {@code dir}. */
    public static String of(Path dir) {
        if (isRandomFixture(dir)) {
            return RANDOM + " (a test fixture from testdata/): these views show the machinery, not what a trained"
                    + " model does.";
        }
        if (Files.isRegularFile(dir.resolve("training.json"))) {
            return "Trained weights: Loupe trained this model (its training.json and MODEL.md say how).";
        }
        return "Trained weights: the checkpoint as published in " + dir.getFileName() + ".";
    }
}
