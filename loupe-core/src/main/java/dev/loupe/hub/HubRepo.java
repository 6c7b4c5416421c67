package dev.loupe.hub;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A repository on the Hub: its type and its id, {@code org/name} (or a bare {@code name} for the
 * oldest models, such as {@code gpt2}).
 *
 * @param type model, dataset or space
 * @param id the repository id, checked as huggingface_hub checks it
 */
public record HubRepo(RepoType type, String id) {
    /** huggingface_hub's rule: an optional namespace and a name of word characters, '-' and '.'. */
    private static final Pattern ID = Pattern.compile("^(\\b[\\w\\-.]+\\b/)?\\b[\\w\\-.]{1,96}\\b$");

    public HubRepo {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(id, "id");
        if (!isValidId(id)) {
            throw new HubException(HubException.Reason.BAD_NAME, "'" + id + "' is not a Hugging Face repository id:"
                    + " an id is 'org/name' (or a bare 'name'), made of letters, digits, '-', '_' and '.', with no"
                    + " '--' or '..' and at most 96 characters per part");
        }
    }

    /** A model repository. */
    public static HubRepo model(String id) {
        return new HubRepo(RepoType.MODEL, id);
    }

    /** A Space (an app repository; the tuned-lens project keeps its trained lenses in one). */
    public static HubRepo space(String id) {
        return new HubRepo(RepoType.SPACE, id);
    }

    /** A dataset repository. */
    public static HubRepo dataset(String id) {
        return new HubRepo(RepoType.DATASET, id);
    }

    /** Whether {@code id} is a well-formed repository id. */
    public static boolean isValidId(String id) {
        return id != null && ID.matcher(id).matches() && !id.contains("--") && !id.contains("..")
                && !id.endsWith(".git");
    }

    /** The repository's folder in the cache: {@code models--org--name}. */
    public String cacheFolderName() {
        return type.cachePrefix() + "--" + id.replace("/", "--");
    }

    /** The repository's path below the endpoint: {@code org/name} or {@code spaces/org/name}. */
    public String urlPath() {
        return type.urlPrefix() + id;
    }

    @Override
    public String toString() {
        return type == RepoType.MODEL ? id : type.urlPrefix() + id;
    }
}
