package dev.loupe.hub;

import dev.loupe.LoupeException;
import dev.loupe.hub.HubException.Reason;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Turns a model name as a user writes it into a model folder, trying in order:
 *
 * <ol>
 *   <li>an existing local folder of that name ({@code models/gpt2-tok}), which wins over a repository
 *       id spelt the same;
 *   <li>a TransformerLens official name or alias, ignoring case ({@code gpt2-small} → {@code gpt2},
 *       {@code pythia-70m} → {@code EleutherAI/pythia-70m}), downloaded from the Hub;
 *   <li>any other Hub repository id {@code org/name}, downloaded from the Hub.
 * </ol>
 *
 * Downloads go to (and offline runs read from) the Hugging Face cache, see {@link HubClient}.
 */
public final class ModelResolver {
    /** The revision used when none is given. */
    public static final String DEFAULT_REVISION = "main";

    private final HubClient hub;
    private final ModelRegistry registry;

    public ModelResolver(HubClient hub, ModelRegistry registry) {
        this.hub = Objects.requireNonNull(hub, "hub");
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** TransformerLens's names and the Hub configured by the environment ({@link HubSettings#fromEnvironment()}). */
    public static ModelResolver fromEnvironment() {
        return new ModelResolver(HubClient.fromEnvironment(), ModelRegistry.official());
    }

    public HubClient hub() {
        return hub;
    }

    /** The model folder for {@code name} at the Hub's {@code main} branch. */
    public Path resolve(String name) {
        return resolve(name, DEFAULT_REVISION);
    }

    /**
     * The model folder for {@code name}: the folder itself, or the Hub snapshot of {@code revision}
     * (downloaded unless cached).
     *
     * @param revision a branch, tag or commit hash; ignored for a local folder
     */
    public Path resolve(String name, String revision) {
        Objects.requireNonNull(name, "name");
        Optional<Path> folder = localFolder(name);
        if (folder.isPresent()) {
            return folder.get();
        }
        if (insideExistingFolder(name)) {
            throw noSuchFolder(name);
        }
        String repoId = repoId(name);
        try {
            return hub.downloadModel(repoId, revision);
        } catch (HubException e) {
            if (e.reason() != Reason.REPO_NOT_FOUND && e.reason() != Reason.NOT_CACHED) {
                throw e;
            }
            // "org/name" may have been meant as a folder: say that none was found either.
            throw new HubException(e.reason(), e.getMessage() + ". There is no folder '" + name + "' in "
                    + Path.of("").toAbsolutePath() + " either", e);
        }
    }

    /** The existing folder {@code name} names, if any. */
    public static Optional<Path> localFolder(String name) {
        if (name.isBlank()) {
            return Optional.empty();
        }
        Path path = pathOf(name);
        return path != null && Files.isDirectory(path) ? Optional.of(path) : Optional.empty();
    }

    /**
     * The Hub repository id for a TransformerLens name, alias or repository id.
     *
     * @throws HubException {@link Reason#BAD_NAME} if {@code name} is none of these (the message
     *     suggests the closest TransformerLens names)
     */
    public String repoId(String name) {
        Objects.requireNonNull(name, "name");
        Optional<String> official = registry.find(name.strip());
        if (official.isPresent()) {
            return official.get();
        }
        Path path = pathOf(name);
        if (path != null && Files.isRegularFile(path)) {
            Path parent = path.toAbsolutePath().getParent();
            String hint = parent != null && Files.isRegularFile(parent.resolve("config.json"))
                    ? " Did you mean its folder " + parent + "?" : "";
            throw new HubException(Reason.BAD_NAME, name + " is a file, not a model folder: a model is a folder"
                    + " holding config.json and its weights (model.safetensors or pytorch_model.bin), or a"
                    + " TransformerLens name or Hugging Face repository id ('org/name')." + hint);
        }
        if (looksLikePath(name)) {
            throw noSuchFolder(name);
        }
        if (name.contains("/") && HubRepo.isValidId(name)) {
            return name;
        }
        try {
            registry.officialName(name);
        } catch (LoupeException e) {
            throw new HubException(Reason.BAD_NAME, e.getMessage() + " So does any Hugging Face repository id"
                    + " ('org/name').", e);
        }
        throw new IllegalStateException("unreachable: " + name + " is in the registry");
    }

    /** Spellings only a file path has: a leading '/', '.', '~', a backslash, or more than one '/'. */
    private static boolean looksLikePath(String name) {
        return name.startsWith("/") || name.startsWith(".") || name.startsWith("~") || name.contains("\\")
                || name.endsWith("/") || name.indexOf('/') != name.lastIndexOf('/');
    }

    /**
     * An 'org/name' whose 'org' is an existing folder ({@code models/gpt2-tok} beside a {@code models}
     * folder): a mistyped or missing folder far more often than a Hub repository of that organisation.
     */
    private static boolean insideExistingFolder(String name) {
        int slash = name.indexOf('/');
        Path first = slash > 0 ? pathOf(name.substring(0, slash)) : null;
        return first != null && Files.isDirectory(first);
    }

    private static HubException noSuchFolder(String name) {
        return new HubException(Reason.BAD_NAME, "No such folder: model folder " + name + " does not exist in "
                + Path.of("").toAbsolutePath() + " (and it is not a Hugging Face repository id, which is 'org/name');"
                + " check the path, or name a model as gpt2, pythia-70m or org/name");
    }

    /** The path {@code name} spells, or null if it spells none. */
    private static Path pathOf(String name) {
        if (name.isBlank()) {
            return null;
        }
        try {
            return Path.of(expandHome(name));
        } catch (InvalidPathException e) {
            return null;
        }
    }

    private static String expandHome(String name) {
        if (name.equals("~") || name.startsWith("~/")) {
            return System.getProperty("user.home") + name.substring(1);
        }
        return name;
    }
}
