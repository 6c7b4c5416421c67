package dev.loupe.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The token file {@code huggingface-cli login} writes: the token on its first line. */
final class TokenFile {
    private TokenFile() {}

    /** The token in {@code file}, or null if there is no readable, non-empty file. */
    static String read(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8).strip();
            return text.isEmpty() ? null : text.lines().findFirst().orElse(null);
        } catch (IOException e) {
            // An unreadable token file means anonymous requests, as huggingface_hub does.
            return null;
        }
    }
}
