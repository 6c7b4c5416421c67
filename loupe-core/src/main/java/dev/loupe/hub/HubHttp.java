package dev.loupe.hub;

import dev.loupe.hub.HubException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The two requests a download needs, with the JDK's HTTP client: HEAD for a file's metadata (as
 * huggingface_hub's {@code get_hf_file_metadata}) and GET for its bytes, from an offset. Hub error
 * answers become {@link HubException}s that say what to do.
 */
final class HubHttp {
    private static final int MAX_REDIRECTS = 10;
    /** huggingface_hub's {@code HF_HUB_ETAG_TIMEOUT}. */
    private static final Duration METADATA_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final String USER_AGENT = "loupe/0.1; java/" + System.getProperty("java.version");

    private final HubSettings settings;
    private final HttpClient client;

    HubHttp(HubSettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
        // Redirects are followed by hand: a relative one (a renamed repository) keeps the token, one
        // to another host (the CDN serving LFS files) must not receive it.
        this.client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(CONNECT_TIMEOUT).build();
    }

    /** {@code {endpoint}/{repo}/resolve/{revision}/{file}}, the revision and file percent-encoded. */
    URI resolveUrl(HubRepo repo, String revision, String filename) {
        return URI.create(settings.endpoint() + "/" + repo.urlPath() + "/resolve/" + UrlPaths.encodeSegment(revision)
                + "/" + UrlPaths.encodePath(filename));
    }

    /**
     * The file's metadata from a HEAD request that follows only relative redirects, as huggingface_hub
     * does; a redirect to another host (LFS on a CDN) is where the bytes are.
     *
     * @throws HubException {@link Reason#NETWORK} if the Hub cannot be reached or fails, or the Hub's
     *     refusal (gated, no such repository or revision)
     */
    FileMetadata head(HubRepo repo, String revision, String filename) {
        URI url = resolveUrl(repo, revision, filename);
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpResponse<Void> response = send(request(url, true).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .timeout(METADATA_TIMEOUT).build(), HttpResponse.BodyHandlers.discarding(), url);
            int status = response.statusCode();
            HttpHeaders headers = response.headers();
            String commit = headers.firstValue("X-Repo-Commit").orElse(null);
            if (status >= 300 && status < 400) {
                URI from = url;
                String location = headers.firstValue("Location").orElseThrow(() -> new HubException(Reason.NETWORK,
                        "The Hub answered " + status + " without a Location for " + from));
                URI target;
                try {
                    target = url.resolve(URI.create(location));
                } catch (IllegalArgumentException e) {
                    throw new HubException(Reason.NETWORK, "The Hub redirected " + from + " to an unusable address '"
                            + location + "'", e);
                }
                if (URI.create(location).getHost() == null) {
                    // A relative redirect: a renamed repository (gpt2 is now openai-community/gpt2).
                    url = target;
                    continue;
                }
                return linked(url, headers, commit, target);
            }
            if (status == 200) {
                String etag = headers.firstValue("X-Linked-Etag").or(() -> headers.firstValue("ETag")).orElse(null);
                long size = headers.firstValueAsLong("X-Linked-Size")
                        .orElse(headers.firstValueAsLong("Content-Length").orElse(-1));
                return complete(url, commit, etag, size, url);
            }
            String code = headers.firstValue("X-Error-Code").orElse("");
            if (status == 404 && (code.equals("EntryNotFound") || code.isEmpty())) {
                return FileMetadata.missing(commit);
            }
            throw refusal(status, headers, repo, revision, filename, url);
        }
        throw new HubException(Reason.NETWORK, "More than " + MAX_REDIRECTS + " redirects for " + url);
    }

    /** The body of a GET of {@code location} from byte {@code offset} on, following redirects. */
    Body get(URI location, long offset, HubRepo repo, String revision, String filename) {
        URI url = location;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder builder = request(url, sameHostAsEndpoint(url)).GET();
            if (offset > 0) {
                builder.header("Range", "bytes=" + offset + "-");
            }
            HttpResponse<InputStream> response = send(builder.build(), HttpResponse.BodyHandlers.ofInputStream(), url);
            int status = response.statusCode();
            if (status >= 300 && status < 400) {
                close(response.body());
                URI from = url;
                String where = response.headers().firstValue("Location").orElseThrow(() -> new HubException(
                        Reason.NETWORK, "The server answered " + status + " without a Location for " + from));
                url = url.resolve(where);
                continue;
            }
            if (status == 200) {
                return new Body(response.body(), 0);
            }
            if (status == 206) {
                long start = contentRangeStart(response.headers());
                if (start != offset) {
                    close(response.body());
                    throw new HubException(Reason.NETWORK, "Asked " + url + " for bytes from " + offset
                            + " but got a part starting at " + start);
                }
                return new Body(response.body(), offset);
            }
            close(response.body());
            throw refusal(status, response.headers(), repo, revision, filename, url);
        }
        throw new HubException(Reason.NETWORK, "More than " + MAX_REDIRECTS + " redirects for " + location);
    }

    /**
     * A response body and the offset it starts at: 0 when the server sent the whole file (it
     * ignored the Range header), else the offset asked for.
     */
    record Body(InputStream stream, long start) {}

    /** The metadata of a file the Hub redirects to another address (LFS on a CDN). */
    private FileMetadata linked(URI url, HttpHeaders headers, String commit, URI target) {
        String etag = headers.firstValue("X-Linked-Etag").or(() -> headers.firstValue("ETag")).orElse(null);
        long size = headers.firstValueAsLong("X-Linked-Size").orElse(-1);
        return complete(url, commit, etag, size, target);
    }

    private FileMetadata complete(URI url, String commit, String rawEtag, long size, URI location) {
        String etag = FileMetadata.normaliseEtag(rawEtag);
        if (commit == null || etag == null) {
            throw new HubException(Reason.NETWORK, url + " answered without " + (commit == null ? "X-Repo-Commit"
                    : "an ETag") + ", so it is not a Hugging Face Hub (or a proxy changed the answer): check "
                    + "HF_ENDPOINT (now " + settings.endpoint() + ") and your proxy settings");
        }
        if (!etag.matches("[A-Za-z0-9._-]+") || !HubCache.isCommitHash(commit)) {
            throw new HubException(Reason.NETWORK, url + " answered with an unusable ETag '" + etag
                    + "' or X-Repo-Commit '" + commit + "'");
        }
        if (size < 0) {
            throw new HubException(Reason.NETWORK, url + " did not say the file's size (no Content-Length or"
                    + " X-Linked-Size)");
        }
        return new FileMetadata(commit, etag, size, location, true);
    }

    private HubException refusal(int status, HttpHeaders headers, HubRepo repo, String revision, String filename,
            URI url) {
        String code = headers.firstValue("X-Error-Code").orElse("");
        String hubSays = headers.firstValue("X-Error-Message").map(m -> " (the Hub says: " + m + ")").orElse("");
        String page = settings.endpoint() + "/" + repo.urlPath();
        if (code.equals("RevisionNotFound")) {
            return new HubException(Reason.REVISION_NOT_FOUND, repo + " has no revision '" + revision + "' (HTTP "
                    + status + ")" + hubSays + ": use a branch, tag or commit hash listed at " + page + "/commits/main");
        }
        if (code.equals("GatedRepo") || ((status == 401 || status == 403) && !code.equals("RepoNotFound"))) {
            String token = settings.token() == null
                    ? " and no token is set. Accept its licence at " + page + " while logged in, create an access"
                            + " token at " + settings.endpoint() + "/settings/tokens and set HF_TOKEN to it"
                    : " and the token in HF_TOKEN may not read it. Accept its licence (or ask for access) at " + page
                            + " with the account the token belongs to, or set HF_TOKEN to a token of an account"
                            + " that has access";
            return new HubException(Reason.GATED, "Cannot download " + filename + " of " + repo
                    + ": the repository is gated or private (HTTP " + status + ")" + token + hubSays);
        }
        if (status == 404 || code.equals("RepoNotFound")) {
            return new HubException(Reason.REPO_NOT_FOUND, "No repository '" + repo + "' on " + settings.endpoint()
                    + " (HTTP " + status + ")" + hubSays + ": check the spelling (a repository id is 'org/name', as"
                    + " in " + settings.endpoint() + "/org/name); if it is private, set HF_TOKEN to a token that"
                    + " may read it");
        }
        return new HubException(Reason.NETWORK, "The Hub answered HTTP " + status + " for " + url + hubSays
                + (status >= 500 ? ": the Hub may be down; try again later" : ""));
    }

    private HttpRequest.Builder request(URI url, boolean withToken) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(url).header("User-Agent", USER_AGENT)
                .header("Accept-Encoding", "identity");
        if (withToken && settings.token() != null) {
            builder.header("Authorization", "Bearer " + settings.token());
        }
        return builder;
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler, URI url) {
        try {
            return client.send(request, handler);
        } catch (HttpTimeoutException e) {
            throw new HubException(Reason.NETWORK, "No answer from " + url + " in time: check your connection"
                    + " (or set HF_HUB_OFFLINE=1 to use only the cache)", e);
        } catch (IOException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": "
                    + e.getMessage();
            throw new HubException(Reason.NETWORK, "Could not reach " + url + " (" + why + ")"
                    + "; check your connection and HF_ENDPOINT (now " + settings.endpoint() + "), or set"
                    + " HF_HUB_OFFLINE=1 to use only the cache", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException(Reason.NETWORK, "Interrupted while fetching " + url, e);
        }
    }

    private boolean sameHostAsEndpoint(URI url) {
        URI endpoint = URI.create(settings.endpoint());
        return Objects.equals(endpoint.getHost(), url.getHost()) && endpoint.getPort() == url.getPort()
                && Objects.equals(endpoint.getScheme(), url.getScheme());
    }

    /** The first byte of a {@code Content-Range: bytes 100-199/200} header; -1 if absent or malformed. */
    private static long contentRangeStart(HttpHeaders headers) {
        Optional<String> range = headers.firstValue("Content-Range");
        if (range.isEmpty()) {
            return -1;
        }
        String value = range.get().strip();
        int space = value.indexOf(' ');
        int dash = value.indexOf('-');
        try {
            return Long.parseLong(value.substring(space + 1, dash).strip());
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private static void close(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // Nothing to do: the body is not needed.
        }
    }

    /** Percent-encoding as huggingface_hub's {@code quote}: a revision as one segment, a file name keeping '/'. */
    static final class UrlPaths {
        private UrlPaths() {}

        static String encodeSegment(String text) {
            return encode(text, false);
        }

        static String encodePath(String text) {
            return encode(text, true);
        }

        private static String encode(String text, boolean keepSlash) {
            StringBuilder out = new StringBuilder();
            for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
                int c = b & 0xff;
                boolean unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || c == '-' || c == '.' || c == '_' || c == '~' || (keepSlash && c == '/');
                if (unreserved) {
                    out.append((char) c);
                } else {
                    out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
                }
            }
            return out.toString();
        }
    }
}
