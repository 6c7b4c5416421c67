package dev.loupe.lens;

import dev.loupe.LoupeException;
import dev.loupe.hub.HubClient;
import dev.loupe.hub.HubException;
import dev.loupe.hub.HubRepo;
import dev.loupe.hub.ModelRegistry;
import dev.loupe.hub.RepoType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tuned-lens library's pretrained lenses on the Hugging Face Hub: folder {@code lens/<model>/}
 * ({@code config.json} + {@code params.pt}) of the space {@code AlignmentResearch/tuned-lens}, or of
 * the repository {@code TUNED_LENS_REPO_ID} of type {@code TUNED_LENS_REPO_TYPE} when those are set
 * (as environment variables or Java system properties), as the library's {@code load_lens_artifacts}
 * reads them. Files land in the Hugging Face cache shared with Python.
 */
public final class PretrainedLenses {
    /** The library's default repository. */
    public static final String DEFAULT_REPO_ID = "AlignmentResearch/tuned-lens";
    private static final String CONFIG = "config.json";
    private static final String PARAMS = "params.pt";

    private PretrainedLenses() {}

    /**
     * The folder holding the lens {@code resourceId}: itself if it is a local lens folder, else the
     * Hub's {@code lens/<resourceId>/}, downloaded unless cached.
     *
     * @param resourceId a lens folder, or a model's Hub id ({@code gpt2}, {@code EleutherAI/pythia-160m-deduped})
     * @throws LoupeException if the Hub has no lens for it (the message names where it looked)
     */
    public static Path folder(String resourceId, HubClient client) {
        Path local = Path.of(resourceId);
        if (Files.isRegularFile(local.resolve(CONFIG))
                && (Files.isRegularFile(local.resolve(PARAMS)) || Files.isRegularFile(local.resolve("params.safetensors")))) {
            return local;
        }
        HubRepo repo = repository();
        String prefix = "lens/" + resourceId + "/";
        try {
            Path config = client.download(repo, "main", prefix + CONFIG);
            client.download(repo, "main", prefix + PARAMS);
            return config.getParent();
        } catch (HubException e) {
            if (e.reason() == HubException.Reason.FILE_NOT_FOUND) {
                throw new LoupeException("No pretrained tuned lens for '" + resourceId + "': " + repo + " has no "
                        + prefix + CONFIG + " and " + PARAMS + " (see " + client.settings().endpoint() + "/"
                        + repo.urlPath() + "/tree/main/lens); train one with `loupe lens train`", e);
            }
            throw e;
        }
    }

    /**
     * The lens resource a model is known by: its Hub id when its name is a TransformerLens name or
     * alias ({@code pythia-160m-deduped} → {@code EleutherAI/pythia-160m-deduped}), else its name.
     */
    public static String resourceId(String modelName) {
        return ModelRegistry.official().find(modelName).orElse(modelName);
    }

    private static HubRepo repository() {
        String id = setting("TUNED_LENS_REPO_ID", DEFAULT_REPO_ID);
        String type = setting("TUNED_LENS_REPO_TYPE", "space");
        for (RepoType candidate : RepoType.values()) {
            if (candidate.name().equalsIgnoreCase(type)) {
                return new HubRepo(candidate, id);
            }
        }
        throw new LoupeException("TUNED_LENS_REPO_TYPE is '" + type + "'; use model, dataset or space");
    }

    private static String setting(String name, String fallback) {
        String value = System.getProperty(name, System.getenv(name));
        return value == null || value.isBlank() ? fallback : value;
    }
}
