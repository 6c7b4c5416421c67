package dev.loupe.cli.command;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * A test of commands that find files in the repository (the demo's models) through {@code loupe.home},
 * which the {@code loupe} script sets: here the repository root, one level above loupe-cli.
 */
abstract class RepositoryHomeTest {
    private String previousHome;

    @BeforeEach
    void setHome() {
        previousHome = System.getProperty("loupe.home");
        System.setProperty("loupe.home", "..");
    }

    @AfterEach
    void restoreHome() {
        if (previousHome == null) {
            System.clearProperty("loupe.home");
        } else {
            System.setProperty("loupe.home", previousHome);
        }
    }
}
