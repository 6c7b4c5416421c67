package dev.loupe.cli;

import dev.loupe.LoupeException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The model folder a command runs: the one given, or the repository's demo fixture. */
final class ModelFolders {
    private ModelFolders() {}

    /** The repository's testdata/models/gpt2-tok (GPT-2's architecture and vocabulary, random weights). */
    static Path demo() {
        return Path.of(System.getProperty("loupe.home", ".")).resolve("testdata/models/gpt2-tok");
    }

    /** The folder {@code given} names (see {@link ModelArgument}), or the demo model if null; throws if it is missing. */
    static Path orDemo(String given) {
        if (given != null) {
            return ModelArgument.folder(given);
        }
        Path dir = demo();
        if (!Files.isDirectory(dir)) {
            throw new LoupeException("the default model " + dir.toAbsolutePath().normalize() + " is missing; run"
                    + " loupe through the loupe script in the repository, or pass --model DIR");
        }
        return dir;
    }
}
