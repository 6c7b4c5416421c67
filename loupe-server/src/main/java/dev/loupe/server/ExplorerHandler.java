package dev.loupe.server;

import dev.loupe.LoupeException;
import dev.loupe.server.explore.GenerationStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every request: security headers, the page's assets, the token check, the body limit, the run queue,
 * then a route of {@link ApiRoutes}; whatever fails becomes a JSON error with a 4xx or 5xx status.
 */
final class ExplorerHandler extends Handler.Abstract {
    /** Only the server's own scripts, styles and API: no inline code, no other origin, no framing. */
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
            + " img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private static final String JSON = "application/json; charset=utf-8";
    private static final String API = "/api/v1/";
    private static final Logger LOG = LoggerFactory.getLogger(ExplorerHandler.class);

    private final ApiRoutes routes;
    private final PageAssets assets;
    private final RunQueue runs;
    private final String token;
    private final int maxBodyBytes;
    private final AtomicLong abandoned = new AtomicLong();

    ExplorerHandler(ApiRoutes routes, PageAssets assets, RunQueue runs, String token, int maxBodyBytes) {
        this.routes = routes;
        this.assets = assets;
        this.runs = runs;
        this.token = token;
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        HttpFields.Mutable headers = response.getHeaders();
        headers.put("Content-Security-Policy", CSP);
        headers.put("X-Content-Type-Options", "nosniff");
        headers.put("Referrer-Policy", "no-referrer");
        headers.put(HttpHeader.CACHE_CONTROL, "no-store");
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        try {
            if (!path.startsWith(API)) {
                PageAssets.Asset asset = assets.get(path);
                if (asset == null) {
                    throw new ApiException(404, "Nothing at " + path + "; the page is at /, the API at " + API
                            + " (described at /api)");
                }
                requireMethod(method, "GET");
                send(response, callback, 200, asset.contentType(), asset.bytes());
                return true;
            }
            checkToken(request);
            String route = path.substring(API.length());
            if (route.equals("models")) {
                requireMethod(method, "GET");
                send(response, callback, 200, JSON, JsonBodies.write(routes.models()));
                return true;
            }
            if (!ApiRoutes.POST.contains(route)) {
                throw new ApiException(404, "No route " + path + "; the routes are GET " + API + "models and POST "
                        + API + "{" + String.join(",", ApiRoutes.POST.stream().sorted().toList()) + "} (see /api)");
            }
            requireMethod(method, "POST");
            byte[] body = body(request);
            if (route.equals("generate")) {
                stream(routes.generation(body), response, callback);
                return true;
            }
            Object answer = runs.run(() -> routes.answer(route, body));
            send(response, callback, 200, JSON, JsonBodies.write(answer));
        } catch (ClientGoneException e) {
            callback.failed(e.getCause());
        } catch (ApiException e) {
            if (e.status() == 503) {
                headers.put(HttpHeader.RETRY_AFTER, "1");
            }
            fail(response, callback, e.status(), e.getMessage());
        } catch (LoupeException e) {
            fail(response, callback, 400, e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("{} {} failed", method, path, e);
            fail(response, callback, 500, "Internal error (" + e.getClass().getSimpleName() + "); the server's log has"
                    + " the details");
        }
        return true;
    }

    /** Streams a generation as NDJSON: one {@link GenerationStream.Step} a line, then {@code {"done": true, ...}}. */
    private void stream(ApiRoutes.Generation generation, Response response, Callback callback) {
        runs.run(() -> {
            stream(generation, response);
            return null;
        });
        callback.succeeded();
    }

    /** Writes the stream, on a worker of the run queue. */
    private void stream(ApiRoutes.Generation generation, Response response) {
        try {
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/x-ndjson; charset=utf-8");
            OutputStream out = Content.Sink.asOutputStream(response);
            long[] all = generation.run(routes.limits(), step -> {
                try {
                    out.write(JsonBodies.line(step).getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } catch (IOException e) {
                    // The client went away: stop generating, which frees the run's turn.
                    throw new UncheckedIOException(e);
                }
            });
            out.write(JsonBodies.line(Map.of("done", true, "tokens", all)).getBytes(StandardCharsets.UTF_8));
            out.close();
        } catch (UncheckedIOException e) {
            abandoned.incrementAndGet();
            throw new ClientGoneException(e.getCause());
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }

    /** How many generations stopped because their client went away. */
    long abandonedGenerations() {
        return abandoned.get();
    }

    private void checkToken(Request request) {
        if (token == null) {
            return;
        }
        String header = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        String given = header != null && header.startsWith("Bearer ") ? header.substring(7).trim()
                : Request.extractQueryParameters(request).getValue("token");
        if (!AccessToken.matches(token, given)) {
            throw new ApiException(401, given == null ? "This server needs its access token: send the header"
                    + " 'Authorization: Bearer TOKEN' (the URL it printed at start has it)" : "Wrong access token");
        }
    }

    private byte[] body(Request request) {
        long declared = request.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
        if (declared > maxBodyBytes) {
            throw new ApiException(413, "The request body is " + declared + " bytes; at most " + maxBodyBytes
                    + " are allowed");
        }
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] bytes = in.readNBytes(maxBodyBytes + 1);
            if (bytes.length > maxBodyBytes) {
                throw new ApiException(413, "The request body is over " + maxBodyBytes + " bytes, the server's limit");
            }
            return bytes;
        } catch (IOException e) {
            throw new ApiException(400, "The request body could not be read: " + e.getMessage());
        }
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed) && !(allowed.equals("GET") && method.equals("HEAD"))) {
            throw new ApiException(405, method + " is not allowed here; use " + allowed);
        }
    }

    private static void fail(Response response, Callback callback, int status, String message) {
        if (response.isCommitted()) {
            callback.failed(new IOException(message));
            return;
        }
        send(response, callback, status, JSON, JsonBodies.error(status, message));
    }

    private static void send(Response response, Callback callback, int status, String type, byte[] bytes) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }
}
