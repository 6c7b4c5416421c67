package dev.loupe.server;

import dev.loupe.LoupeException;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * The page's files, read from Loupe's own jar once: a fixed table from URL path to resource, so that
 * no path a client writes can reach anything else (the model's folder least of all).
 */
final class PageAssets {
    /**
     * A file the server answers with.
     *
     * @param contentType its media type
     * @param bytes its content
     */
    record Asset(String contentType, byte[] bytes) {}

    private static final Map<String, String[]> FILES = Map.of(
            "/", new String[] {"page/index.html", "text/html; charset=utf-8"},
            "/app.js", new String[] {"page/app.js", "text/javascript; charset=utf-8"},
            "/app.css", new String[] {"page/app.css", "text/css; charset=utf-8"},
            "/api", new String[] {"openapi.json", "application/json; charset=utf-8"});

    private final Map<String, Asset> assets;

    private PageAssets(Map<String, Asset> assets) {
        this.assets = assets;
    }

    /** Reads every asset from the classpath. */
    static PageAssets load() {
        Map<String, Asset> read = new HashMap<>();
        FILES.forEach((path, file) -> read.put(path, new Asset(file[1], resource(file[0]))));
        return new PageAssets(Map.copyOf(read));
    }

    /** The asset at {@code path}, or null. */
    Asset get(String path) {
        return assets.get(path);
    }

    private static byte[] resource(String name) {
        try (InputStream in = PageAssets.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new LoupeException("The server's resource " + name + " is missing from its jar; rebuild loupe-server");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new LoupeException("The server's resource " + name + " could not be read: " + e.getMessage(), e);
        }
    }
}
