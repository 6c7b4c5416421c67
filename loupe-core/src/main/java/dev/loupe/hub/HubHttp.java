package dev.loupe.hub;

import dev.loupe.hub.HubException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Flow;

/**
 * The two requests a download needs, with the JDK's HTTP client: HEAD for a file's metadata (as
 * huggingface_hub's {@code get_hf_file_metadata}) and GET for its bytes, from an offset. Hub error
 * answers become {@link HubException}s that say what to do.
 */
final class HubHttp {
    private static final int MAX_REDIRECTS = 10;
    /** Longest ETag used as a blob's file name (with {@code .incomplete} it must fit a file name). */
    private static final int MAX_ETAG = 200;
    private static final String USER_AGENT = "loupe/0.1; java/" + System.getProperty("java.version");

    private final HubSettings settings;
    private final HttpClient client;

    HubHttp(HubSettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
        // Redirects are followed by hand: a relative one (a renamed repository) keeps the token, one
        // to another host (the CDN serving LFS files) must not receive it.
        Duration connect = settings.downloadTimeout().compareTo(settings.etagTimeout()) > 0
                ? settings.downloadTimeout() : settings.etagTimeout();
        this.client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(connect).build();
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
        List<URI> hops = new ArrayList<>();
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            hops.add(url);
            HttpResponse<Void> response = send(request(url, true).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .timeout(settings.etagTimeout()).build(), HttpResponse.BodyHandlers.discarding(), url,
                    "HF_HUB_ETAG_TIMEOUT", settings.etagTimeout());
            int status = response.statusCode();
            HttpHeaders headers = response.headers();
            String commit = headers.firstValue("X-Repo-Commit").orElse(null);
            if (status >= 300 && status < 400) {
                URI from = url;
                String location = headers.firstValue("Location").orElseThrow(() -> new HubException(
                        Reason.BAD_RESPONSE, "The Hub answered " + status + " without a Location for " + from));
                URI target = redirectTarget(from, location);
                if (URI.create(location.strip()).getHost() == null) {
                    // A relative redirect: a renamed repository (gpt2 is now openai-community/gpt2).
                    url = target;
                    continue;
                }
                return linked(url, headers, commit, target);
            }
            if (status == 200) {
                String etag = headers.firstValue("X-Linked-Etag").or(() -> headers.firstValue("ETag")).orElse(null);
                long size = size(headers, "X-Linked-Size", url);
                if (size < 0) {
                    size = size(headers, "Content-Length", url);
                }
                return complete(url, commit, etag, size, url);
            }
            String code = headers.firstValue("X-Error-Code").orElse("");
            if (status == 404 && (code.equals("EntryNotFound") || code.isEmpty())) {
                return FileMetadata.missing(commit);
            }
            throw refusal(status, headers, repo, revision, filename, url);
        }
        throw redirectLoop(hops);
    }

    /**
     * The body of a GET of {@code location} from byte {@code offset} on, following redirects. The
     * answer must come within {@code HF_HUB_DOWNLOAD_TIMEOUT}, and so must each next bytes of the
     * body while it is read (a stalled read fails with {@link TimedBody.Stalled}).
     */
    Body get(URI location, long offset, HubRepo repo, String revision, String filename) {
        URI url = location;
        List<URI> hops = new ArrayList<>();
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            hops.add(url);
            HttpRequest.Builder builder = request(url, sameHostAsEndpoint(url)).GET()
                    .timeout(settings.downloadTimeout());
            if (offset > 0) {
                builder.header("Range", "bytes=" + offset + "-");
            }
            HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = send(builder.build(),
                    HttpResponse.BodyHandlers.ofPublisher(), url, "HF_HUB_DOWNLOAD_TIMEOUT",
                    settings.downloadTimeout());
            TimedBody body = new TimedBody(settings.downloadTimeout(), url);
            response.body().subscribe(body);
            int status = response.statusCode();
            if (status >= 300 && status < 400) {
                body.close();
                URI from = url;
                String where = response.headers().firstValue("Location").orElseThrow(() -> new HubException(
                        Reason.BAD_RESPONSE, "The server answered " + status + " without a Location for " + from));
                url = redirectTarget(from, where);
                continue;
            }
            if (status == 200) {
                return new Body(body, 0, url);
            }
            if (status == 206) {
                long start = contentRangeStart(response.headers());
                if (start != offset) {
                    body.close();
                    throw new HubException(Reason.NETWORK, "Asked " + url + " for bytes from " + offset
                            + " but got a part starting at " + start);
                }
                return new Body(body, offset, url);
            }
            body.close();
            throw refusal(status, response.headers(), repo, revision, filename, url);
        }
        throw redirectLoop(hops);
    }

    /**
     * A response body and the offset it starts at: 0 when the server sent the whole file (it
     * ignored the Range header), else the offset asked for; {@code url} is where it came from,
     * after redirects.
     */
    record Body(InputStream stream, long start, URI url) {}

    /**
     * Where a redirect leads: only to an http or https address (the Hub, a renamed repository, the
     * CDN that serves LFS files). A {@code file:}, {@code ftp:} or other address is refused.
     */
    private static URI redirectTarget(URI from, String location) {
        URI target;
        try {
            target = from.resolve(new URI(location.strip()));
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new HubException(Reason.BAD_RESPONSE, from + " redirected to an unusable address '"
                    + printable(location) + "'", e);
        }
        String scheme = target.getScheme() == null ? "" : target.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            throw new HubException(Reason.BAD_RESPONSE, from + " redirected to '" + printable(location) + "', which is"
                    + " not an http or https address; Loupe follows redirects only to web servers (the Hub and the"
                    + " CDN it keeps large files on), never to " + (scheme.isEmpty() ? "a scheme-less" : scheme + ":")
                    + " addresses. Check HF_ENDPOINT (now the server at " + from.getScheme() + "://"
                    + from.getRawAuthority() + ") and your proxy");
        }
        if (target.getHost() == null) {
            throw new HubException(Reason.BAD_RESPONSE, from + " redirected to '" + printable(location)
                    + "', which names no host");
        }
        return target;
    }

    private static HubException redirectLoop(List<URI> hops) {
        StringBuilder path = new StringBuilder(withoutQuery(hops.get(0)));
        boolean loop = false;
        for (int i = 1; i < hops.size(); i++) {
            path.append(" -> ").append(withoutQuery(hops.get(i)));
            if (hops.subList(0, i).contains(hops.get(i))) {
                loop = true;
                path.append(" again");
                break;
            }
            if (i == 3) {
                path.append(" -> ...");
                break;
            }
        }
        return new HubException(Reason.BAD_RESPONSE, "Following the redirects from " + withoutQuery(hops.get(0))
                + " took more than " + MAX_REDIRECTS + " steps (" + path + ")"
                + (loop ? ": the redirects go round in a loop" : "") + ". The server (HF_ENDPOINT, or a proxy) is"
                + " misconfigured; nothing was downloaded");
    }

    /** An address without its query, which may hold a signed token. */
    static String withoutQuery(URI url) {
        return url.getScheme() + "://" + url.getRawAuthority() + (url.getRawPath() == null ? "" : url.getRawPath());
    }

    /** A size header as a number; -1 when absent. */
    private static long size(HttpHeaders headers, String name, URI url) {
        Optional<String> value = headers.firstValue(name);
        if (value.isEmpty()) {
            return -1;
        }
        try {
            long size = Long.parseLong(value.get().strip());
            if (size >= 0) {
                return size;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new HubException(Reason.BAD_RESPONSE, url + " answered with an unusable " + name + " '"
                + printable(value.get()) + "'; it must be a number of bytes");
    }

    /** The metadata of a file the Hub redirects to another address (LFS on a CDN). */
    private FileMetadata linked(URI url, HttpHeaders headers, String commit, URI target) {
        String etag = headers.firstValue("X-Linked-Etag").or(() -> headers.firstValue("ETag")).orElse(null);
        long size = size(headers, "X-Linked-Size", url);
        return complete(url, commit, etag, size, target);
    }

    private FileMetadata complete(URI url, String commit, String rawEtag, long size, URI location) {
        String etag = FileMetadata.normaliseEtag(rawEtag);
        if (commit == null) {
            throw new HubException(Reason.NETWORK, url + " answered without X-Repo-Commit, so it is not a Hugging"
                    + " Face Hub (or a proxy changed the answer): check HF_ENDPOINT (now " + settings.endpoint()
                    + ") and your proxy settings");
        }
        if (!HubCache.isCommitHash(commit)) {
            throw new HubException(Reason.BAD_RESPONSE, url + " answered with an unusable X-Repo-Commit '"
                    + printable(commit) + "': a commit is 40 hexadecimal digits. Check HF_ENDPOINT (now "
                    + settings.endpoint() + ") and your proxy");
        }
        if (etag == null) {
            throw new HubException(Reason.BAD_RESPONSE, url + " answered without an ETag (nor X-Linked-Etag), so the"
                    + " file cannot be named in the cache nor checked. Check HF_ENDPOINT (now " + settings.endpoint()
                    + ") and your proxy");
        }
        if (!isUsableEtag(etag)) {
            throw new HubException(Reason.BAD_RESPONSE, url + " answered with the ETag '" + printable(etag) + "',"
                    + " which cannot name a file in the cache: an ETag is the file's hash (a git blob id, or the"
                    + " sha256 of a large file), at most " + MAX_ETAG + " letters, digits, '.', '_' and '-', not"
                    + " starting with '.'. Nothing was downloaded. Check HF_ENDPOINT (now " + settings.endpoint()
                    + ") and your proxy");
        }
        if (size < 0) {
            throw new HubException(Reason.BAD_RESPONSE, url + " did not say the file's size (no X-Linked-Size or"
                    + " Content-Length), so a download could not be checked for completeness. Check HF_ENDPOINT"
                    + " (now " + settings.endpoint() + ") and your proxy");
        }
        return new FileMetadata(commit, etag, size, location, true);
    }

    /** Whether an ETag can be a blob's file name: no path separator, not {@code .} or {@code ..}, not hidden. */
    static boolean isUsableEtag(String etag) {
        return etag != null && etag.length() <= MAX_ETAG && etag.matches("[A-Za-z0-9][A-Za-z0-9._-]*");
    }

    /** Escapes control characters and caps the length, so a hostile header cannot garble a message. */
    static String printable(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && out.length() < 200; i++) {
            char c = text.charAt(i);
            out.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return out.length() >= 200 ? out + "..." : out.toString();
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

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler, URI url,
            String timeoutVariable, Duration timeout) {
        try {
            return client.send(request, handler);
        } catch (HttpTimeoutException e) {
            throw new HubException(Reason.NETWORK, "No answer from " + withoutQuery(url) + " within "
                    + HubSettings.describe(timeout) + " (" + timeoutVariable + "): check your connection, set "
                    + timeoutVariable + " to wait longer, or set HF_HUB_OFFLINE=1 to use only the cache", e);
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
