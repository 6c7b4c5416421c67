package dev.loupe.hub;

import java.net.URI;

/**
 * What a HEAD request on {@code {endpoint}/{repo}/resolve/{revision}/{file}} tells about a file.
 *
 * @param commit the commit the revision points at ({@code X-Repo-Commit})
 * @param etag the file's ETag without quotes or {@code W/}: {@code X-Linked-Etag} for files kept in
 *     LFS (their sha256), else {@code ETag} (the git blob id); null when the file is missing
 * @param size the file's size in bytes ({@code X-Linked-Size} or {@code Content-Length}); -1 when missing
 * @param location where to GET the bytes (the CDN address the Hub redirects LFS files to); null when missing
 * @param exists false when the repository and revision exist but the file does not
 */
record FileMetadata(String commit, String etag, long size, URI location, boolean exists) {
    /** The file is not in the repository at {@code commit} (which may be null if the Hub did not say). */
    static FileMetadata missing(String commit) {
        return new FileMetadata(commit, null, -1, null, false);
    }

    /** Whether the ETag is a sha256 (a file kept in LFS), so the download can be checked against it. */
    boolean etagIsSha256() {
        return etag != null && etag.matches("[0-9a-f]{64}");
    }

    /**
     * The ETag as huggingface_hub normalises it: without a leading {@code W/} and the quotes, so it
     * can name a file.
     */
    static String normaliseEtag(String etag) {
        if (etag == null) {
            return null;
        }
        String value = etag.strip();
        if (value.startsWith("W/")) {
            value = value.substring(2);
        }
        if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
            value = value.substring(1, value.length() - 1);
        }
        return value.isEmpty() ? null : value;
    }
}
