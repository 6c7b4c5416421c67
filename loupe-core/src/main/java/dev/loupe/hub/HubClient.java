package dev.loupe.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.hub.HubException.Reason;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Downloads files from the Hugging Face Hub into the cache Python's huggingface_hub keeps, and
 * finds them there when offline, so a file fetched by either is reused by the other.
 *
 * <pre>{@code
 * HubClient hub = HubClient.fromEnvironment();
 * Path snapshot = hub.downloadModel("gpt2", "main");               // config, tokenizer, weights
 * Path lens = hub.download(HubRepo.space("AlignmentResearch/tuned-lens"), "main", "lens/gpt2/config.json");
 * }</pre>
 *
 * <p>As huggingface_hub's {@code hf_hub_download}: a HEAD request gives the commit and ETag; the
 * bytes go to {@code blobs/{etag}} (see {@link HubCache}); {@code snapshots/{commit}/{file}} links
 * to them. When the Hub cannot be reached the cached file of the revision is used. Safe to call from
 * several threads and processes at once.
 */
public final class HubClient {
    /** The weights a model folder may hold, in the order {@link dev.loupe.io.WeightSource} prefers them. */
    static final List<String> WEIGHT_FILES = List.of("model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "pytorch_model.bin.index.json");

    private final HubSettings settings;
    private final HubCache cache;
    private final HubHttp http;
    private final BlobDownload blobs;

    /** A client that shows a progress bar on stderr when there is a terminal. */
    public HubClient(HubSettings settings) {
        this(settings, DownloadProgress.forConsole());
    }

    public HubClient(HubSettings settings, DownloadProgress progress) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.cache = new HubCache(settings.hubCache());
        this.http = new HubHttp(settings);
        this.blobs = new BlobDownload(http, cache, Objects.requireNonNull(progress, "progress"));
    }

    /** A client configured by the environment, as huggingface_hub is ({@link HubSettings#fromEnvironment()}). */
    public static HubClient fromEnvironment() {
        return new HubClient(HubSettings.fromEnvironment());
    }

    public HubSettings settings() {
        return settings;
    }

    public HubCache cache() {
        return cache;
    }

    /**
     * One file of a repository, downloaded unless cached: its path in the snapshot of the commit
     * {@code revision} points at.
     *
     * @param revision a branch, tag or commit hash ({@code main})
     * @param filename a path inside the repository ({@code lens/gpt2/params.pt})
     * @throws HubException if the file is not in the repository, cannot be fetched or (offline) is not cached
     */
    public Path download(HubRepo repo, String revision, String filename) {
        Path path = fetch(repo, revision, filename, true).path();
        if (path == null) {
            throw new HubException(Reason.FILE_NOT_FOUND, repo + " has no file '" + filename + "' at revision '"
                    + revision + "': see the files at " + settings.endpoint() + "/" + repo.urlPath() + "/tree/"
                    + revision);
        }
        return path;
    }

    /**
     * As {@link #download}, but empty when the repository has no such file (or, offline, when the
     * cache does not have it). An unreachable Hub is still an error unless the file is cached.
     */
    public Optional<Path> downloadIfPresent(HubRepo repo, String revision, String filename) {
        Fetched file = fetch(repo, revision, filename, false);
        if (file.unreachable() != null) {
            throw unreachable(file.unreachable(), repo, revision, filename);
        }
        return Optional.ofNullable(file.path());
    }

    /**
     * The files a model needs, downloaded unless cached, all from one commit: {@code config.json},
     * {@code generation_config.json}, the tokenizer files, and the weights (safetensors, single or
     * sharded by its index, else PyTorch's {@code .bin}).
     *
     * @param repoId {@code org/name}
     * @param revision a branch, tag or commit hash
     * @return the snapshot folder, a Hugging Face model folder
     */
    public Path downloadModel(String repoId, String revision) {
        HubRepo repo = HubRepo.model(repoId);
        Fetched config = fetch(repo, revision, "config.json", true);
        if (config.path() == null) {
            throw new HubException(Reason.FILE_NOT_FOUND, repo + " has no config.json at revision '" + revision
                    + "', so it is not a model Loupe can load: see its files at " + settings.endpoint() + "/"
                    + repo.urlPath());
        }
        // Every other file from the same commit, even if the branch moves meanwhile.
        String commit = config.commit();
        optional(repo, commit, "generation_config.json");
        boolean tokenizerJson = optional(repo, commit, "tokenizer.json");
        optional(repo, commit, "tokenizer_config.json");
        optional(repo, commit, "special_tokens_map.json");
        if (!tokenizerJson && optional(repo, commit, "vocab.json")) {
            optional(repo, commit, "merges.txt");
        }
        if (!downloadWeights(repo, commit)) {
            throw new HubException(settings.offline() ? Reason.NOT_CACHED : Reason.FILE_NOT_FOUND, settings.offline()
                    ? "No weights of " + repo + " are in the cache " + cache.root() + " and offline mode is on"
                            + " (HF_HUB_OFFLINE): looked for " + String.join(", ", WEIGHT_FILES) + ". Download the"
                            + " model once while online (loupe download " + repoId + "), or unset HF_HUB_OFFLINE"
                    : repo + " has none of the weight files Loupe reads (" + String.join(", ", WEIGHT_FILES)
                            + ") at commit " + commit + ": see its files at " + settings.endpoint() + "/"
                            + repo.urlPath());
        }
        return cache.snapshot(repo, commit);
    }

    /** The first weight format the repository has, with its shards; false if it has none. */
    private boolean downloadWeights(HubRepo repo, String commit) {
        HubException firstFailure = null;
        for (String name : WEIGHT_FILES) {
            Fetched file = fetch(repo, commit, name, false);
            if (file.path() == null) {
                // Unreachable is not absent: if no format is found, say why the first could not be asked about.
                if (file.unreachable() != null && firstFailure == null) {
                    firstFailure = file.unreachable();
                }
                continue;
            }
            if (name.endsWith(".index.json")) {
                for (String shard : shards(file.path())) {
                    download(repo, commit, shard);
                }
            }
            return true;
        }
        if (firstFailure != null) {
            throw unreachable(firstFailure, repo, commit, String.join(" or ", WEIGHT_FILES));
        }
        return false;
    }

    /** The shard files an index's {@code weight_map} names. */
    private static TreeSet<String> shards(Path index) {
        try {
            JsonNode weightMap = new ObjectMapper().readTree(index.toFile()).get("weight_map");
            if (weightMap == null || !weightMap.isObject()) {
                throw new HubException(Reason.CORRUPT, index + " has no \"weight_map\" object of tensor name to"
                        + " shard file");
            }
            TreeSet<String> names = new TreeSet<>();
            weightMap.elements().forEachRemaining(v -> names.add(v.asText()));
            names.forEach(HubCache::checkedRelative);
            return names;
        } catch (IOException e) {
            throw new HubException(Reason.CORRUPT, index + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** Downloads a file the model can do without; whether the repository has it. */
    private boolean optional(HubRepo repo, String commit, String filename) {
        return fetch(repo, commit, filename, false).path() != null;
    }

    /** A file's place in the cache and its commit; a null path when the repository has no such file. */
    private record Fetched(Path path, String commit, HubException unreachable) {
        Fetched(Path path, String commit) {
            this(path, commit, null);
        }
    }

    /**
     * The heart of {@code hf_hub_download}.
     *
     * @param required whether a file the cache lacks (offline, or when the Hub fails) is an error;
     *     else it counts as absent, and {@link Fetched#unreachable} says why when the Hub failed
     */
    private Fetched fetch(HubRepo repo, String revision, String filename, boolean required) {
        HubCache.checkedRelative(filename);
        if (HubCache.isCommitHash(revision)) {
            Path pointer = cache.pointer(repo, revision, filename);
            if (Files.isRegularFile(pointer)) {
                return new Fetched(pointer, revision);
            }
            if (cache.knownMissing(repo, revision, filename)) {
                return new Fetched(null, revision);
            }
        }
        if (settings.offline()) {
            return fromCache(repo, revision, filename, required, null);
        }
        FileMetadata file;
        try {
            file = http.head(repo, revision, filename);
        } catch (HubException e) {
            if (e.reason() == Reason.NETWORK || e.reason() == Reason.GATED || e.reason() == Reason.REPO_NOT_FOUND) {
                // As huggingface_hub: what was cached for this revision still serves when the Hub will not.
                return fromCache(repo, revision, filename, required, e);
            }
            throw e;
        }
        if (!file.exists()) {
            if (file.commit() != null && HubCache.isCommitHash(file.commit())) {
                cache.markMissing(repo, file.commit(), filename);
                cache.writeRef(repo, revision, file.commit());
            }
            return new Fetched(null, file.commit());
        }
        cache.writeRef(repo, revision, file.commit());
        Path pointer = cache.pointer(repo, file.commit(), filename);
        if (!Files.isRegularFile(pointer)) {
            blobs.fetchAndLink(repo, revision, filename, file, pointer);
        }
        return new Fetched(pointer, file.commit());
    }

    private HubException unreachable(HubException failure, HubRepo repo, String revision, String filename) {
        if (failure.reason() != Reason.NETWORK) {
            return failure;
        }
        return new HubException(Reason.NETWORK, failure.getMessage() + ". Nothing is cached for " + filename + " of "
                + repo + " at revision '" + revision + "' in " + cache.root(), failure);
    }

    /** The cached file, or why there is none: offline mode, or the Hub's {@code failure}. */
    private Fetched fromCache(HubRepo repo, String revision, String filename, boolean required,
            HubException failure) {
        Optional<String> commit = cache.commitOf(repo, revision);
        Optional<Path> cached = cache.cachedFile(repo, revision, filename);
        if (cached.isPresent()) {
            return new Fetched(cached.get(), commit.orElseThrow());
        }
        if (cache.knownMissing(repo, revision, filename)) {
            return new Fetched(null, commit.orElse(null));
        }
        if (!required) {
            // A cache filled by snapshot_download records no missing files: an optional file it lacks
            // was most likely never in the repository.
            return new Fetched(null, commit.orElse(null), failure);
        }
        if (failure != null) {
            throw unreachable(failure, repo, revision, filename);
        }
        throw new HubException(Reason.NOT_CACHED, filename + " of " + repo + " (revision '" + revision
                + "') is not in the Hugging Face cache " + cache.root() + " and offline mode is on (HF_HUB_OFFLINE):"
                + " download it once while online (loupe download " + repo.id() + "), or unset HF_HUB_OFFLINE");
    }
}
