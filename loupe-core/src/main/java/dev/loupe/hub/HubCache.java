package dev.loupe.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The Hub cache folder in huggingface_hub's layout, shared with Python:
 *
 * <pre>
 * {hubCache}/models--org--name/
 *     blobs/{etag}                        each file's bytes, named by its ETag (sha256 for LFS files)
 *     snapshots/{commit}/{file}           relative symlinks to ../../blobs/{etag}
 *     refs/{revision}                     the commit a branch or tag pointed at when last fetched
 *     .no_exist/{commit}/{file}           empty marker: the file is not in the repository at that commit
 * {hubCache}/.locks/models--org--name/{etag}.lock
 * </pre>
 *
 * A file appears under {@code snapshots/} only once its blob is complete, so a reader never sees a
 * partial file.
 */
public final class HubCache {
    private static final Pattern COMMIT = Pattern.compile("^[0-9a-f]{40}$");

    private final Path root;

    /** The cache under {@code root} (huggingface_hub's {@code HF_HUB_CACHE}). */
    public HubCache(Path root) {
        this.root = Objects.requireNonNull(root, "root");
    }

    public Path root() {
        return root;
    }

    /** Whether {@code revision} is a full commit hash (40 lowercase hex digits). */
    public static boolean isCommitHash(String revision) {
        return COMMIT.matcher(revision).matches();
    }

    /** {@code models--org--name}. */
    public Path repoFolder(HubRepo repo) {
        return root.resolve(repo.cacheFolderName());
    }

    /** The folder of one commit's files. */
    public Path snapshot(HubRepo repo, String commit) {
        return repoFolder(repo).resolve("snapshots").resolve(commit);
    }

    /** {@code blobs/{etag}}. */
    Path blob(HubRepo repo, String etag) {
        return repoFolder(repo).resolve("blobs").resolve(blobName(etag));
    }

    /** Where a blob is written while it downloads: {@code blobs/{etag}.incomplete}. */
    Path incomplete(HubRepo repo, String etag) {
        return repoFolder(repo).resolve("blobs").resolve(blobName(etag) + ".incomplete");
    }

    /** {@code .locks/models--org--name/{etag}.lock}. */
    Path lockFile(HubRepo repo, String etag) {
        return root.resolve(".locks").resolve(repo.cacheFolderName()).resolve(blobName(etag) + ".lock");
    }

    /** An ETag as a file name in {@code blobs/}, refusing one that is not a plain name ({@code ..}, {@code a/b}). */
    private static String blobName(String etag) {
        if (!HubHttp.isUsableEtag(etag)) {
            throw new HubException(HubException.Reason.BAD_RESPONSE, "The ETag '" + HubHttp.printable(String.valueOf(etag))
                    + "' cannot name a file in the cache; nothing was written");
        }
        return etag;
    }

    /** {@code snapshots/{commit}/{file}}, refusing a file name that would leave the snapshot. */
    public Path pointer(HubRepo repo, String commit, String filename) {
        return snapshot(repo, commit).resolve(checkedRelative(filename));
    }

    /** The commit {@code revision} stands for: itself if it is a commit hash, else what {@code refs/} remembers. */
    public Optional<String> commitOf(HubRepo repo, String revision) {
        if (isCommitHash(revision)) {
            return Optional.of(revision);
        }
        Path ref = repoFolder(repo).resolve("refs").resolve(checkedRelative(revision));
        if (!Files.isRegularFile(ref)) {
            return Optional.empty();
        }
        try {
            String commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
            return commit.isEmpty() ? Optional.empty() : Optional.of(commit);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read " + ref, e);
        }
    }

    /**
     * The cached file {@code filename} of {@code revision}, as huggingface_hub's
     * {@code try_to_load_from_cache} finds it; empty if it is not cached.
     */
    public Optional<Path> cachedFile(HubRepo repo, String revision, String filename) {
        return commitOf(repo, revision).map(commit -> pointer(repo, commit, filename)).filter(Files::isRegularFile);
    }

    /** Whether an earlier fetch learnt that {@code filename} is not in the repository at {@code commit}. */
    public boolean knownMissing(HubRepo repo, String revision, String filename) {
        return commitOf(repo, revision)
                .map(commit -> Files.isRegularFile(repoFolder(repo).resolve(".no_exist").resolve(commit)
                        .resolve(checkedRelative(filename))))
                .orElse(false);
    }

    /** Remembers that {@code filename} is not in the repository at {@code commit} (best effort). */
    void markMissing(HubRepo repo, String commit, String filename) {
        Path marker = repoFolder(repo).resolve(".no_exist").resolve(commit).resolve(checkedRelative(filename));
        try {
            Files.createDirectories(marker.getParent());
            if (!Files.exists(marker)) {
                Files.createFile(marker);
            }
        } catch (IOException e) {
            // Only an optimisation for later offline runs: a read-only cache must not fail the fetch.
        }
    }

    /** Writes {@code refs/{revision}} = {@code commit} atomically, unless the revision is that commit. */
    void writeRef(HubRepo repo, String revision, String commit) {
        if (revision.equals(commit) || commitOf(repo, revision).filter(commit::equals).isPresent()) {
            return;
        }
        Path ref = repoFolder(repo).resolve("refs").resolve(checkedRelative(revision));
        try {
            Files.createDirectories(ref.getParent());
            Path temp = ref.resolveSibling(ref.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8)
                    + ".tmp");
            Files.writeString(temp, commit, StandardCharsets.UTF_8);
            moveAtomically(temp, ref);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not write " + ref, e);
        }
    }

    /**
     * Points {@code pointer} at {@code blob} with a relative symlink ({@code ../../blobs/{etag}}, as
     * huggingface_hub makes them), created under a temporary name and renamed into place. Where
     * symlinks are not allowed the blob is copied instead.
     */
    void link(Path blob, Path pointer) throws IOException {
        Files.createDirectories(pointer.getParent());
        Path target = pointer.getParent().relativize(blob);
        Path temp = pointer.resolveSibling("." + pointer.getFileName() + "." + UUID.randomUUID().toString()
                .substring(0, 8) + ".tmp");
        try {
            Files.createSymbolicLink(temp, target);
        } catch (UnsupportedOperationException | FileSystemException e) {
            Files.copy(blob, temp, StandardCopyOption.REPLACE_EXISTING);
        }
        try {
            moveAtomically(temp, pointer);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Renames {@code from} over {@code to} in one step. */
    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** A repository-relative path ({@code lens/gpt2/config.json}) as a relative Path that cannot climb out. */
    static Path checkedRelative(String name) {
        if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.contains("\0")) {
            throw new HubException(HubException.Reason.BAD_NAME, "'" + name + "' is not a file path inside a"
                    + " repository: use '/'-separated relative paths such as 'lens/gpt2/config.json'");
        }
        for (String part : name.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new HubException(HubException.Reason.BAD_NAME, "'" + name + "' is not a file path inside a"
                        + " repository: empty, '.' and '..' parts are not allowed");
            }
        }
        return Path.of(name);
    }

    @Override
    public String toString() {
        return "HubCache[" + root + "]";
    }
}
