package dev.loupe.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.io.safetensors.SafetensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The reference fixtures copied into {@code testdata/} (see testdata/FIXTURES.md). */
public final class Fixtures {
    /** Surefire runs each module in its own folder, one below the repository root. */
    public static final Path ROOT = locate();

    private Fixtures() {}

    public static Path model(String name) {
        return ROOT.resolve("models").resolve(name);
    }

    public static Path tl(String arch) {
        return ROOT.resolve("tl").resolve(arch);
    }

    /** Every tensor of a safetensors file, owned by {@code manager}, in header order. */
    public static Map<String, NDArray> readAll(Path file, NDManager manager) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                tensors.put(name, f.load(name, manager));
            }
        }
        return tensors;
    }

    public static JsonNode json(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path locate() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("testdata/models"))) {
                return dir.resolve("testdata");
            }
        }
        throw new IllegalStateException("No testdata/ folder above " + Path.of("").toAbsolutePath());
    }
}
