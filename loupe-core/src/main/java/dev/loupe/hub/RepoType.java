package dev.loupe.hub;

/**
 * The kind of a Hub repository. It decides the URL ({@code {endpoint}/spaces/org/name/resolve/...})
 * and the cache folder ({@code spaces--org--name}) exactly as huggingface_hub does.
 */
public enum RepoType {
    MODEL("models", ""),
    DATASET("datasets", "datasets/"),
    SPACE("spaces", "spaces/");

    private final String cachePrefix;
    private final String urlPrefix;

    RepoType(String cachePrefix, String urlPrefix) {
        this.cachePrefix = cachePrefix;
        this.urlPrefix = urlPrefix;
    }

    /** The first part of the cache folder's name: {@code models}, {@code datasets} or {@code spaces}. */
    public String cachePrefix() {
        return cachePrefix;
    }

    /** What goes before the repository id in a URL: empty for models. */
    public String urlPrefix() {
        return urlPrefix;
    }
}
