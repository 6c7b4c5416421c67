package dev.loupe.sae.pretrained;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.ClosestNames;
import dev.loupe.LoupeException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The releases Loupe loads by name: SAELens 6.18's {@code pretrained_saes.yaml} for {@code gpt2-small-res-jb},
 * {@code gpt2-small-hook-z-kk}, {@code gemma-scope-2b-pt-res-canonical}, {@code gemma-scope-2b-pt-mlp-canonical},
 * {@code gemma-scope-2b-pt-att-canonical}, {@code gemma-scope-9b-pt-res-canonical} and
 * {@code pythia-70m-deduped-res-sm}, with every id SAELens lists for them.
 *
 * <p>The table lives in two resources next to this class: {@code releases.tsv}
 * ({@code release<TAB>repo_id<TAB>model<TAB>format<TAB>config_overrides as JSON or -}) and {@code saes.tsv}
 * ({@code release<TAB>id<TAB>path<TAB>neuronpedia id or -}); lines starting with {@code #} are comments. A
 * release is added by adding its rows, if its format is one of {@link ReleaseFormat}.
 */
public final class SaeReleases {
    private static final int SUGGESTIONS = 3;

    /** Loaded on first use, once. */
    private static final class Table {
        static final Map<String, SaeRelease> RELEASES = load();
    }

    private SaeReleases() {}

    /** Every release, in the table's order. */
    public static List<SaeRelease> all() {
        return List.copyOf(Table.RELEASES.values());
    }

    /** The release {@code name}, if the table has it. */
    public static Optional<SaeRelease> find(String name) {
        return Optional.ofNullable(Table.RELEASES.get(name));
    }

    /**
     * The release {@code name}.
     *
     * @throws LoupeException if the table has none of that name, naming the closest and every supported release
     */
    public static SaeRelease release(String name) {
        return find(name).orElseThrow(() -> new LoupeException("Unknown SAE release '" + name + "'; closest: "
                + ClosestNames.of(name, Table.RELEASES.keySet(), SUGGESTIONS) + ". Loupe loads by name "
                + Table.RELEASES.keySet() + "; any other SAELens-format SAE loads by its Hub repository id"
                + " (org/name) and its folder there, or from a folder on disk"));
    }

    private static Map<String, SaeRelease> load() {
        Map<String, Map<String, ReleasedSae>> saes = new LinkedHashMap<>();
        for (String[] row : rows("saes.tsv", 4)) {
            saes.computeIfAbsent(row[0], r -> new LinkedHashMap<>())
                    .put(row[1], new ReleasedSae(row[1], row[2], row[3].equals("-") ? null : row[3]));
        }
        Map<String, SaeRelease> releases = new LinkedHashMap<>();
        for (String[] row : rows("releases.tsv", 5)) {
            Map<String, ReleasedSae> ofRelease = saes.remove(row[0]);
            if (ofRelease == null) {
                throw new IllegalStateException("saes.tsv has no SAE of the release " + row[0]);
            }
            releases.put(row[0], new SaeRelease(row[0], row[1], row[2], ReleaseFormat.fromJson(row[3]),
                    overrides(row[4]), ofRelease));
        }
        if (!saes.isEmpty()) {
            throw new IllegalStateException("saes.tsv names releases that releases.tsv lacks: " + saes.keySet());
        }
        return Collections.unmodifiableMap(releases);
    }

    private static ObjectNode overrides(String cell) {
        if (cell.equals("-")) {
            return JsonNodeFactory.instance.objectNode();
        }
        try {
            JsonNode parsed = new ObjectMapper().readTree(cell);
            if (parsed instanceof ObjectNode object) {
                return object;
            }
        } catch (IOException e) {
            throw new IllegalStateException("releases.tsv: config_overrides is not JSON: " + cell, e);
        }
        throw new IllegalStateException("releases.tsv: config_overrides is not a JSON object: " + cell);
    }

    private static List<String[]> rows(String resource, int columns) {
        InputStream in = SaeReleases.class.getResourceAsStream(resource);
        if (in == null) {
            throw new IllegalStateException("Missing resource " + resource + " next to " + SaeReleases.class.getName()
                    + "; the loupe-sae jar is incomplete");
        }
        List<String[]> rows = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] row = line.split("\t", -1);
                if (row.length != columns) {
                    throw new IllegalStateException(resource + ": expected " + columns + " columns, got " + row.length
                            + " in: " + line);
                }
                rows.add(row);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read resource " + resource, e);
        }
        return rows;
    }
}
