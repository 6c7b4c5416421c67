package dev.loupe.hub;

import dev.loupe.ClosestNames;
import dev.loupe.LoupeException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * TransformerLens's official model names (the Hugging Face repository ids it knows how to load)
 * and their aliases, resolved the way {@code get_official_model_name} resolves them: ignoring case,
 * an alias or an official name maps to its official name.
 *
 * <p>The table lives in the resource {@code official-models.tsv} next to this class, one row per
 * official name in TransformerLens's order: {@code official_name<TAB>alias1,alias2,...}; lines
 * starting with {@code #} and blank lines are ignored.
 *
 * <p>A second table in the same format, {@code loupe-models.tsv}, holds Hub ids of the architectures
 * Loupe loads that TransformerLens does not list (more OLMo 2 checkpoints), with aliases that are
 * Loupe's own ({@link #loupeNames()}). They resolve like the official names, but
 * {@link #officialNames()} stays TransformerLens's list, and no Loupe name or alias may shadow one of
 * TransformerLens's.
 */
public final class ModelRegistry {
    static final String RESOURCE = "official-models.tsv";
    static final String LOUPE_RESOURCE = "loupe-models.tsv";
    private static final int SUGGESTIONS = 5;

    /** Loaded on first use of {@link #official()}, once. */
    private static final class Official {
        static final ModelRegistry INSTANCE = load();

        private static ModelRegistry load() {
            return new ModelRegistry(rows(RESOURCE), rows(LOUPE_RESOURCE));
        }

        private static Map<String, List<String>> rows(String resource) {
            InputStream in = ModelRegistry.class.getResourceAsStream(resource);
            if (in == null) {
                throw new IllegalStateException("Missing resource " + resource + " next to "
                        + ModelRegistry.class.getName() + "; the loupe-core jar is incomplete");
            }
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                return readRows(reader, resource);
            } catch (IOException e) {
                throw new UncheckedIOException("Could not read resource " + resource, e);
            }
        }
    }

    /** Official names in table order, each with its aliases (deduplicated, in table order). */
    private final Map<String, List<String>> aliasesByOfficial;
    /** Loupe's own Hub ids, each with its aliases. */
    private final Map<String, List<String>> aliasesByLoupeName;
    /** Lower-cased official name or alias → official name. */
    private final Map<String, String> officialByKey;
    /** Lower-cased official name or alias → its spelling in the table, for suggestions. */
    private final Map<String, String> spellingByKey;
    private final List<String> officialNames;

    private ModelRegistry(Map<String, List<String>> aliasesByOfficial, Map<String, List<String>> aliasesByLoupeName) {
        this.aliasesByOfficial = aliasesByOfficial;
        this.aliasesByLoupeName = aliasesByLoupeName;
        this.officialNames = List.copyOf(aliasesByOfficial.keySet());
        Map<String, String> official = new HashMap<>();
        Map<String, String> spelling = new HashMap<>();
        // As TransformerLens's make_model_alias_map: walk the official names in order, mapping each
        // alias and then the official name itself; a later row wins over an earlier one.
        for (Map.Entry<String, List<String>> row : aliasesByOfficial.entrySet()) {
            for (String alias : row.getValue()) {
                official.put(key(alias), row.getKey());
                spelling.putIfAbsent(key(alias), alias);
            }
            official.put(key(row.getKey()), row.getKey());
            spelling.put(key(row.getKey()), row.getKey());
        }
        for (Map.Entry<String, List<String>> row : aliasesByLoupeName.entrySet()) {
            List<String> names = new java.util.ArrayList<>(row.getValue());
            names.add(row.getKey());
            for (String name : names) {
                if (official.containsKey(key(name))) {
                    throw new IllegalStateException(LOUPE_RESOURCE + ": '" + name + "' is already TransformerLens's name"
                            + " for " + official.get(key(name)) + "; Loupe's names may not shadow it");
                }
            }
        }
        for (Map.Entry<String, List<String>> row : aliasesByLoupeName.entrySet()) {
            for (String alias : row.getValue()) {
                official.put(key(alias), row.getKey());
                spelling.putIfAbsent(key(alias), alias);
            }
            official.put(key(row.getKey()), row.getKey());
            spelling.put(key(row.getKey()), row.getKey());
        }
        this.officialByKey = Map.copyOf(official);
        this.spellingByKey = Map.copyOf(spelling);
    }

    /** TransformerLens's registry, read from the bundled resource on first call. */
    public static ModelRegistry official() {
        return Official.INSTANCE;
    }

    /**
     * Reads a table in the resource's format.
     *
     * @param source names the table in error messages
     */
    static ModelRegistry parse(BufferedReader reader, String source) throws IOException {
        return new ModelRegistry(readRows(reader, source), Map.of());
    }

    private static Map<String, List<String>> readRows(BufferedReader reader, String source) throws IOException {
        Map<String, List<String>> rows = new LinkedHashMap<>();
        String line;
        int number = 0;
        while ((line = reader.readLine()) != null) {
            number++;
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int tab = line.indexOf('\t');
            String name = (tab < 0 ? line : line.substring(0, tab)).strip();
            String aliasField = tab < 0 ? "" : line.substring(tab + 1);
            if (name.isEmpty() || aliasField.indexOf('\t') >= 0) {
                throw new IllegalStateException(source + " line " + number
                        + ": expected official_name<TAB>alias1,alias2,... but got '" + line + "'");
            }
            LinkedHashSet<String> aliases = new LinkedHashSet<>();
            for (String alias : aliasField.split(",")) {
                if (!alias.isBlank()) {
                    aliases.add(alias.strip());
                }
            }
            if (rows.put(name, List.copyOf(aliases)) != null) {
                throw new IllegalStateException(source + " line " + number + ": official name '" + name
                        + "' appears twice");
            }
        }
        return Collections.unmodifiableMap(rows);
    }

    /**
     * The official name for an official name or alias, ignoring case, as TransformerLens's
     * {@code get_official_model_name}.
     *
     * @throws LoupeException if the name is neither; the message suggests the closest known names
     */
    public String officialName(String nameOrAlias) {
        Objects.requireNonNull(nameOrAlias, "nameOrAlias");
        return find(nameOrAlias).orElseThrow(() -> unknown(nameOrAlias));
    }

    /** The official name for an official name or alias, ignoring case; empty if it is neither. */
    public Optional<String> find(String nameOrAlias) {
        Objects.requireNonNull(nameOrAlias, "nameOrAlias");
        return Optional.ofNullable(officialByKey.get(key(nameOrAlias)));
    }

    /**
     * The aliases of an official name, in table order (the first is TransformerLens's default
     * alias); empty if it has none.
     *
     * @param officialName an official name, exactly or ignoring case (not an alias)
     * @throws LoupeException if it is not an official name
     */
    public List<String> aliases(String officialName) {
        Objects.requireNonNull(officialName, "officialName");
        List<String> aliases = aliasesByOfficial.containsKey(officialName) ? aliasesByOfficial.get(officialName)
                : aliasesByLoupeName.get(officialName);
        if (aliases != null) {
            return aliases;
        }
        String resolved = officialByKey.get(key(officialName));
        if (resolved != null && key(resolved).equals(key(officialName))) {
            return aliasesByOfficial.containsKey(resolved) ? aliasesByOfficial.get(resolved) : aliasesByLoupeName.get(resolved);
        }
        if (resolved != null) {
            throw new LoupeException("'" + officialName + "' is an alias, not an official model name; its official"
                    + " name is '" + resolved + "'");
        }
        throw unknown(officialName);
    }

    /** Every official name, in TransformerLens's order. */
    public List<String> officialNames() {
        return officialNames;
    }

    /**
     * The Hub ids Loupe knows by name beyond TransformerLens's list (in {@code loupe-models.tsv}'s
     * order); {@link #officialName} resolves them and their Loupe aliases too.
     */
    public List<String> loupeNames() {
        return List.copyOf(aliasesByLoupeName.keySet());
    }

    private LoupeException unknown(String name) {
        List<String> closest = ClosestNames.of(key(name), spellingByKey.keySet(), SUGGESTIONS);
        String suggestions = closest.stream()
                .map(k -> {
                    String spelling = spellingByKey.get(k);
                    String official = officialByKey.get(k);
                    return spelling.equals(official) ? spelling : spelling + " (alias of " + official + ")";
                })
                .collect(Collectors.joining(", "));
        return new LoupeException("Unknown model name '" + name + "': it is neither one of the "
                + officialNames.size() + " official TransformerLens model names (or " + aliasesByLoupeName.size()
                + " more Hub ids Loupe knows) nor one of their aliases."
                + " Closest: " + suggestions + "."
                + " A path to a local Hugging Face model folder (one containing config.json) also works.");
    }

    private static String key(String name) {
        return name.toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return "ModelRegistry[" + officialNames.size() + " official names, " + aliasesByLoupeName.size() + " of Loupe's, "
                + officialByKey.size() + " names and aliases]";
    }
}
