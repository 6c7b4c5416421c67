package dev.loupe.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real HTTP server on 127.0.0.1 that answers as the Hugging Face Hub does, for tests:
 * {@code HEAD/GET /{repo}/resolve/{revision}/{file}} with {@code ETag} (quoted git blob id),
 * {@code X-Repo-Commit} and {@code Content-Length}; LFS files ({@code *.safetensors}, {@code *.bin},
 * {@code *.pt}) answered with a 302 to {@code /cdn/{sha256}} carrying {@code X-Linked-Etag}
 * (their sha256) and {@code X-Linked-Size}; Range requests (206); the Hub's error headers
 * ({@code X-Error-Code}: RepoNotFound, EntryNotFound, RevisionNotFound, GatedRepo).
 *
 * <p>It can misbehave on purpose: cut the connection after some bytes, send a corrupted body, or
 * hold a download until several clients have asked for the file; and, as hostile or broken
 * servers do, ignore Range and cut every answer short, stall or trickle a body, redirect to any
 * address or in a loop, leave out the size, or send any ETag.
 */
public final class LoopbackHub implements AutoCloseable {
    /** One request as the server saw it. */
    public record Request(String method, String path, String range, String authorization) {}

    /** A repository the server holds. */
    public static final class Repo {
        final String urlPath;
        final String commit;
        final Map<String, byte[]> files = new LinkedHashMap<>();
        final java.util.Set<String> branches = java.util.concurrent.ConcurrentHashMap.newKeySet();
        volatile String requiredToken;

        Repo(String urlPath) {
            this.urlPath = urlPath;
            this.commit = hex(digest("SHA-1", ("commit of " + urlPath).getBytes(StandardCharsets.UTF_8)));
        }

        public String commit() {
            return commit;
        }

        /** Adds (or replaces) a file. */
        public Repo file(String name, byte[] content) {
            files.put(name, content);
            return this;
        }

        /** Serves the same commit under the revision {@code name} too (a branch such as Pythia's {@code step3000}). */
        public Repo branch(String name) {
            branches.add(name);
            return this;
        }

        /** Only requests with {@code Authorization: Bearer token} get in; others get the Hub's gated answer. */
        public Repo gated(String token) {
            this.requiredToken = token;
            return this;
        }

        public byte[] bytes(String name) {
            return files.get(name);
        }
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, String> renamed = new ConcurrentHashMap<>();
    private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Long> cutAfter = new ConcurrentHashMap<>();
    private final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();
    private final Map<String, CountDownLatch> holds = new ConcurrentHashMap<>();
    private final Map<String, Long> everyGetCutAfter = new ConcurrentHashMap<>();
    private final Map<String, Long> stallAfter = new ConcurrentHashMap<>();
    private final Map<String, Long> trickleMillis = new ConcurrentHashMap<>();
    private final Map<String, String> headRedirects = new ConcurrentHashMap<>();
    private final Map<String, String> downloadRedirects = new ConcurrentHashMap<>();
    private final Map<String, Boolean> redirectLoops = new ConcurrentHashMap<>();
    private final Map<String, Boolean> withoutSize = new ConcurrentHashMap<>();
    private final Map<String, String> etags = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private LoopbackHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Starts a server on a free port of 127.0.0.1. */
    public static LoopbackHub start() {
        try {
            return new LoopbackHub();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code http://127.0.0.1:port}, for {@code HF_ENDPOINT}. */
    public String endpoint() {
        return "http://" + server.getAddress().getAddress().getHostAddress() + ":" + server.getAddress().getPort();
    }

    /** A repository of {@code type} serving every regular file of {@code folder}. */
    public Repo addRepo(RepoType type, String id, Path folder) {
        Repo repo = new Repo(type.urlPrefix() + id);
        if (folder != null) {
            try (Stream<Path> files = Files.list(folder)) {
                for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                    repo.file(file.getFileName().toString(), Files.readAllBytes(file));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        repos.put(repo.urlPath, repo);
        return repo;
    }

    /** A model repository serving every file of {@code folder}. */
    public Repo addModel(String id, Path folder) {
        return addRepo(RepoType.MODEL, id, folder);
    }

    /** Requests for {@code oldId} get a relative redirect to {@code newId}, as the Hub answers for a renamed repository. */
    public void rename(String oldId, String newId) {
        renamed.put(oldId, newId);
    }

    /** The first GET of {@code file}'s bytes sends the full length in its headers but only {@code bytes} of it. */
    public void cutFirstDownloadAfter(String file, long bytes) {
        cutAfter.put(file, bytes);
    }

    /** Every GET of {@code file}'s bytes has one byte changed (so its sha256 no longer matches). */
    public void corrupt(String file) {
        corrupt.put(file, true);
    }

    /** GETs of {@code file}'s bytes wait until {@code heads} HEAD requests for it have arrived. */
    public void holdDownloadUntilHeads(String file, int heads) {
        holds.put(file, new CountDownLatch(heads));
    }

    /**
     * Every GET of {@code file}'s bytes ignores Range, announces the whole file, sends only its first
     * {@code bytes} and drops the connection.
     */
    public void ignoreRangeAndCutEveryDownloadAfter(String file, long bytes) {
        everyGetCutAfter.put(file, bytes);
    }

    /**
     * Every GET of {@code file}'s bytes honours Range but sends nothing past byte {@code offset},
     * then holds the connection open.
     */
    public void stallDownloadsAt(String file, long offset) {
        stallAfter.put(file, offset);
    }

    /** Every GET of {@code file}'s bytes sends one byte every {@code millis} milliseconds. */
    public void trickleDownloads(String file, long millis) {
        trickleMillis.put(file, millis);
    }

    /** HEAD and GET of {@code file}'s resolve URL answer as for a large file, redirecting to {@code location}. */
    public void redirectMetadataTo(String file, String location) {
        headRedirects.put(file, location);
    }

    /** GETs of {@code file}'s bytes (on the CDN) answer 302 to {@code location}. */
    public void redirectDownloadsTo(String file, String location) {
        downloadRedirects.put(file, location);
    }

    /** {@code file}'s resolve URL redirects to itself. */
    public void redirectInALoop(String file) {
        redirectLoops.put(file, true);
    }

    /** {@code file}'s metadata leaves out its size (X-Linked-Size for a large file). */
    public void leaveOutSize(String file) {
        withoutSize.put(file, true);
    }

    /** {@code file}'s metadata sends {@code etag} (quoted) as its ETag, or X-Linked-Etag for a large file. */
    public void sendEtag(String file, String etag) {
        etags.put(file, etag);
    }

    /** Every request so far, in order. */
    public List<Request> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    /** The GETs that fetched {@code file}'s bytes (for LFS files, the GETs of its CDN address). */
    public List<Request> downloadsOf(Repo repo, String file) {
        String cdn = "/cdn/" + sha256Hex(repo.files.get(file));
        String direct = "/" + repo.urlPath + "/resolve/";
        return requests().stream().filter(r -> r.method().equals("GET"))
                .filter(r -> r.path().equals(cdn) || (r.path().startsWith(direct) && r.path().endsWith("/" + file)
                        && !isLfs(file)))
                .toList();
    }

    @Override
    public void close() {
        closed = true;
        server.stop(0);
        executor.shutdownNow();
    }

    /** git's blob id of {@code content}: what the Hub sends as the ETag of a file kept in git. */
    public static String gitBlobId(byte[] content) {
        byte[] header = ("blob " + content.length + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[header.length + content.length];
        System.arraycopy(header, 0, all, 0, header.length);
        System.arraycopy(content, 0, all, header.length, content.length);
        return hex(digest("SHA-1", all));
    }

    public static String sha256Hex(byte[] content) {
        return hex(digest("SHA-256", content));
    }

    static boolean isLfs(String file) {
        return file.endsWith(".safetensors") || file.endsWith(".bin") || file.endsWith(".pt");
    }

    private void handle(HttpExchange exchange) throws IOException {
        try {
            answer(exchange);
        } finally {
            // With bytes still owed (a body cut short on purpose) this drops the connection.
            exchange.close();
        }
    }

    private void answer(HttpExchange exchange) throws IOException {
        {
            String path = exchange.getRequestURI().getRawPath();
            String method = exchange.getRequestMethod();
            requests.add(new Request(method, path, exchange.getRequestHeaders().getFirst("Range"),
                    exchange.getRequestHeaders().getFirst("Authorization")));
            if (path.startsWith("/cdn/")) {
                serveCdn(exchange, path.substring("/cdn/".length()));
                return;
            }
            int resolve = path.indexOf("/resolve/");
            if (resolve < 0) {
                error(exchange, 404, null, null, "Not a resolve URL");
                return;
            }
            String newId = renamed.get(path.substring(1, resolve));
            if (newId != null) {
                exchange.getResponseHeaders().set("Location", "/" + newId + path.substring(resolve));
                exchange.sendResponseHeaders(307, -1);
                return;
            }
            Repo repo = repos.get(path.substring(1, resolve));
            if (repo == null) {
                error(exchange, 404, "RepoNotFound", null, "Repository not found");
                return;
            }
            String token = repo.requiredToken;
            if (token != null && !("Bearer " + token).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                error(exchange, 401, "GatedRepo", null, "Access to model " + repo.urlPath + " is restricted. You must"
                        + " have access to it and be authenticated to access it. Please log in.");
                return;
            }
            String rest = path.substring(resolve + "/resolve/".length());
            int slash = rest.indexOf('/');
            String revision = URLDecoder.decode(rest.substring(0, slash), StandardCharsets.UTF_8);
            String file = URLDecoder.decode(rest.substring(slash + 1), StandardCharsets.UTF_8);
            if (!revision.equals("main") && !revision.equals(repo.commit) && !repo.branches.contains(revision)) {
                error(exchange, 404, "RevisionNotFound", null, "Invalid rev id: " + revision);
                return;
            }
            byte[] content = repo.files.get(file);
            if (content == null) {
                error(exchange, 404, "EntryNotFound", repo.commit, file + " does not exist on \"" + revision + "\"");
                return;
            }
            if (method.equals("HEAD")) {
                holds.getOrDefault(file, new CountDownLatch(0)).countDown();
            }
            var headers = exchange.getResponseHeaders();
            headers.set("X-Repo-Commit", repo.commit);
            if (redirectLoops.containsKey(file)) {
                headers.set("Location", path);
                exchange.sendResponseHeaders(302, -1);
                return;
            }
            String etag = etags.get(file);
            if (isLfs(file) || headRedirects.containsKey(file)) {
                String sha = sha256Hex(content);
                headers.set("ETag", "\"" + gitBlobId(("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha
                        + "\nsize " + content.length + "\n").getBytes(StandardCharsets.UTF_8)) + "\"");
                headers.set("X-Linked-Etag", "\"" + (etag != null ? etag : sha) + "\"");
                if (!withoutSize.containsKey(file)) {
                    headers.set("X-Linked-Size", Long.toString(content.length));
                }
                headers.set("Location", headRedirects.getOrDefault(file, endpoint() + "/cdn/" + sha));
                exchange.sendResponseHeaders(302, -1);
                return;
            }
            headers.set("ETag", "\"" + (etag != null ? etag : gitBlobId(content)) + "\"");
            serveBytes(exchange, file, content);
        }
    }

    private void serveCdn(HttpExchange exchange, String sha) throws IOException {
        for (Repo repo : repos.values()) {
            for (Map.Entry<String, byte[]> file : repo.files.entrySet()) {
                if (isLfs(file.getKey()) && sha256Hex(file.getValue()).equals(sha)) {
                    exchange.getResponseHeaders().set("ETag", "\"" + sha + "\"");
                    serveBytes(exchange, file.getKey(), file.getValue());
                    return;
                }
            }
        }
        error(exchange, 404, null, null, "No such blob");
    }

    /** The file's bytes, whole or from a Range's start, with the misbehaviour asked for. */
    private void serveBytes(HttpExchange exchange, String file, byte[] content) throws IOException {
        var headers = exchange.getResponseHeaders();
        headers.set("Accept-Ranges", "bytes");
        if (exchange.getRequestMethod().equals("HEAD")) {
            headers.set("Content-Length", Long.toString(content.length));
            exchange.sendResponseHeaders(200, -1);
            return;
        }
        String redirect = downloadRedirects.get(file);
        if (redirect != null) {
            headers.set("Location", redirect);
            exchange.sendResponseHeaders(302, -1);
            return;
        }
        Long cutEvery = everyGetCutAfter.get(file);
        if (cutEvery != null) {
            // Range ignored: the whole file is announced, only its start is sent.
            exchange.sendResponseHeaders(200, content.length);
            OutputStream out = exchange.getResponseBody();
            out.write(content, 0, (int) Math.min(cutEvery, content.length));
            out.flush();
            return;
        }
        CountDownLatch hold = holds.get(file);
        if (hold != null) {
            try {
                hold.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        byte[] body = content;
        if (corrupt.containsKey(file)) {
            body = content.clone();
            body[body.length / 2] ^= 0x5a;
        }
        int start = 0;
        String range = exchange.getRequestHeaders().getFirst("Range");
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            start = Integer.parseInt(range.substring("bytes=".length(), range.length() - 1));
            if (start >= body.length) {
                headers.set("Content-Range", "bytes */" + body.length);
                exchange.sendResponseHeaders(416, -1);
                return;
            }
            headers.set("Content-Range", "bytes " + start + "-" + (body.length - 1) + "/" + body.length);
            exchange.sendResponseHeaders(206, body.length - start);
        } else {
            exchange.sendResponseHeaders(200, body.length);
        }
        Long cut = cutAfter.remove(file);
        OutputStream out = exchange.getResponseBody();
        Long stall = stallAfter.get(file);
        if (stall != null) {
            out.write(body, start, (int) Math.max(0, Math.min(stall, body.length) - start));
            out.flush();
            pause(60_000);
            return;
        }
        Long trickle = trickleMillis.get(file);
        if (trickle != null) {
            for (int i = start; i < body.length && !closed; i++) {
                if (!pause(trickle)) {
                    return;
                }
                out.write(body[i]);
                out.flush();
            }
            return;
        }
        if (cut != null) {
            out.write(body, start, (int) Math.min(cut, body.length - start));
            out.flush();
            // Closing the exchange with bytes still owed drops the connection, as a network failure would.
            return;
        }
        out.write(body, start, body.length - start);
    }

    /** Sleeps, in steps, until the time is up or the server closes; false if it closed. */
    private boolean pause(long millis) {
        long until = System.nanoTime() + millis * 1_000_000;
        try {
            while (!closed && System.nanoTime() < until) {
                Thread.sleep(Math.min(50, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return !closed;
    }

    private static void error(HttpExchange exchange, int status, String code, String commit, String message)
            throws IOException {
        var headers = exchange.getResponseHeaders();
        if (code != null) {
            headers.set("X-Error-Code", code);
        }
        headers.set("X-Error-Message", message);
        if (commit != null) {
            headers.set("X-Repo-Commit", commit);
        }
        byte[] body = ("{\"error\":\"" + message.replace("\"", "'") + "\"}").getBytes(StandardCharsets.UTF_8);
        if (exchange.getRequestMethod().equals("HEAD")) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
    }

    private static byte[] digest(String algorithm, byte[] content) {
        try {
            return MessageDigest.getInstance(algorithm).digest(content);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
