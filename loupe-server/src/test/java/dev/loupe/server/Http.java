package dev.loupe.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A real HTTP client (java.net.http) talking to a server on loopback. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String token;

    Http(LoupeServer server, String token) {
        this.base = "http://127.0.0.1:" + server.port();
        this.token = token;
    }

    /** A client of a server without a token on {@code port} (in another process, say). */
    Http(int port) {
        this.base = "http://127.0.0.1:" + port;
        this.token = null;
    }

    /** The answer to {@code GET path}. */
    HttpResponse<String> get(String path) {
        return send(request(path).GET().build());
    }

    /** The answer to {@code POST /api/v1/route} with {@code body}. */
    HttpResponse<String> post(String route, String body) {
        return send(request("/api/v1/" + route).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** The answer to {@code POST /api/v1/route} with {@code body} as JSON, which must be 200. */
    JsonNode ok(String route, Object body) {
        HttpResponse<String> response = post(route, json(body));
        if (response.statusCode() != 200) {
            throw new AssertionError(route + " answered " + response.statusCode() + ": " + response.body());
        }
        return parse(response.body());
    }

    HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        return token == null ? builder : builder.header("Authorization", "Bearer " + token);
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpClient client() {
        return client;
    }

    String base() {
        return base;
    }

    static String json(Object body) {
        try {
            return body instanceof String s ? s : JSON.writeValueAsString(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode parse(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
