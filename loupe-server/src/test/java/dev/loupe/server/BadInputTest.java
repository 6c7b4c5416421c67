package dev.loupe.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.LoupeException;
import dev.loupe.server.explore.ServedModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bad input over real HTTP: each answer is a 4xx with a JSON message naming the problem, and the server
 * keeps serving after it. The server here needs an access token, as {@code --host 0.0.0.0} makes it.
 */
class BadInputTest {
    private static final String TOKEN = AccessToken.generate();

    private static ServedModel induction;
    private static LoupeServer server;
    private static Http http;

    @BeforeAll
    static void start() {
        induction = ServedModel.load(ApiTest.INDUCTION, null);
        server = LoupeServer.start(List.of(induction), ServerOptions.loopback(0).withToken(TOKEN));
        http = new Http(server, TOKEN);
    }

    @AfterAll
    static void stop() {
        server.close();
        induction.close();
    }

    @AfterEach
    void theServerStillServes() {
        assertThat(http.get("/api/v1/models").statusCode()).isEqualTo(200);
        assertThat(server.runsAdmitted()).isZero();
    }

    private static JsonNode error(HttpResponse<String> response, int status) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t)
                .startsWith("application/json"));
        JsonNode body = Http.parse(response.body());
        assertThat(body.get("status").asInt()).isEqualTo(status);
        assertThat(body.get("error").asText()).doesNotContain("at dev.loupe").doesNotContain("Exception");
        return body;
    }

    @Test
    void anOversizePromptIsRefusedWithTheLimit() {
        long[] ids = new long[65];
        String message = error(http.post("run", Http.json(Map.of("prompt", Map.of("tokens", ids)))), 400)
                .get("error").asText();
        assertThat(message).contains("65 tokens").contains("64 allowed").contains("shorten");
        long[] big = new long[300];
        assertThat(error(http.post("run", Http.json(Map.of("prompt", Map.of("tokens", big)))), 400).get("error").asText())
                .contains("300 tokens");
    }

    @Test
    void anUnknownHeadLayerTokenOrModelIsNamed() {
        Map<String, Object> prompt = Map.of("tokens", new long[] {0, 5, 6, 5, 6});
        assertThat(error(http.post("intervene", Http.json(Map.of("prompt", prompt, "interventions", List.of(Map.of(
                "kind", "zero", "target", "head", "layer", 1, "head", 9))))), 400).get("error").asText())
                .isEqualTo("Head 9 does not exist: induction-2l has heads 0..3 in each layer");
        assertThat(error(http.post("run", Http.json(Map.of("prompt", prompt, "interventions", List.of(Map.of(
                "kind", "zero", "target", "head", "layer", 7, "head", 0))))), 400).get("error").asText())
                .contains("Layer 7 does not exist");
        assertThat(error(http.post("run", Http.json(Map.of("prompt", prompt, "interventions", List.of(Map.of(
                "kind", "zero", "target", "mlp", "layer", 0))))), 400).get("error").asText())
                .contains("attention-only");
        assertThat(error(http.post("run", Http.json(Map.of("prompt", Map.of("tokens", new long[] {0, 300})))), 400)
                .get("error").asText()).contains("token id 300, outside the vocabulary 0..299");
        assertThat(error(http.post("run", Http.json(Map.of("model", "gpt-9", "prompt", prompt))), 404).get("error")
                .asText()).contains("No model named 'gpt-9'").contains("induction-2l");
        assertThat(error(http.post("run", Http.json(Map.of("prompt", Map.of("text", "hello")))), 400).get("error")
                .asText()).contains("has no tokenizer");
        assertThat(error(http.post("intervene", Http.json(Map.of("prompt", prompt, "interventions", List.of(Map.of(
                "kind", "shrink", "target", "head", "layer", 0, "head", 0))))), 400).get("error").asText())
                .contains("shrink");
    }

    @Test
    void malformedJsonAndUnknownFieldsAreRefused() {
        assertThat(error(http.post("run", "{\"prompt\": {\"tokens\": [0, 1"), 400).get("error").asText())
                .startsWith("Malformed JSON request");
        assertThat(error(http.post("run", "{\"prompt\": {\"tokens\": [0, 1]}, \"temperature\": 2}"), 400).get("error")
                .asText()).contains("temperature");
        assertThat(error(http.post("run", ""), 400).get("error").asText()).contains("needs a JSON body");
        assertThat(error(http.post("run", "{}"), 400).get("error").asText()).contains("needs \"prompt\"");
        assertThat(error(http.post("run", "[1, 2]"), 400).get("error").asText()).startsWith("Malformed JSON request");
    }

    @Test
    void aMissingOrWrongTokenIsRefusedAndTheRightOneLetsIn() {
        Http anonymous = new Http(server, null);
        assertThat(error(anonymous.get("/api/v1/models"), 401).get("error").asText()).contains("Authorization: Bearer");
        Http wrong = new Http(server, TOKEN + "0");
        assertThat(error(wrong.post("run", "{}"), 401).get("error").asText()).isEqualTo("Wrong access token");
        assertThat(anonymous.get("/api/v1/models?token=" + TOKEN).statusCode()).isEqualTo(200);
        assertThat(server.url().toString()).endsWith("/?token=" + TOKEN);
    }

    @Test
    void pathTraversalNeverReachesAFile() throws IOException {
        List<String> paths = List.of("/../models/induction-2l/model.safetensors",
                "/%2e%2e/%2e%2e/models/induction-2l/config.json",
                "/app.js/..%2f..%2fmodel.safetensors", "/api/v1/..%2f..%2fconfig.json", "/model.safetensors",
                "/models/induction-2l/config.json", "/page/index.html", "/dev/loupe/server/openapi.json",
                "/api/v1/run/../../model.safetensors", "/%00", "/..\\..\\config.json");
        for (String path : paths) {
            String answer = raw("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            int status = Integer.parseInt(answer.substring(9, 12));
            assertThat(status).as(path + " → " + answer).isBetween(400, 404);
            assertThat(answer).as(path).contains("application/json").doesNotContain("n_layers")
                    .doesNotContain("__metadata__").doesNotContain("<html");
        }
    }

    @Test
    void anOversizeBodyAWrongMethodAndAnUnknownRouteAreRefused() {
        String big = "{\"prompt\": {\"text\": \"" + "a".repeat(70 * 1024) + "\"}}";
        assertThat(error(http.post("run", big), 413).get("error").asText()).contains("65536");
        assertThat(error(http.get("/api/v1/run"), 405).get("error").asText()).contains("use POST");
        assertThat(error(http.send(http.request("/").POST(HttpRequest.BodyPublishers.ofString("x")).build()), 405)
                .get("error").asText()).contains("use GET");
        assertThat(error(http.post("shell", "{}"), 404).get("error").asText()).contains("No route /api/v1/shell");
        assertThat(error(http.post("generate", Http.json(Map.of("prompt", Map.of("tokens", new long[] {0, 1}),
                "maxNewTokens", 65))), 400).get("error").asText()).contains("maxNewTokens must be 1..64");
        assertThat(error(http.post("generate", Http.json(Map.of("prompt", Map.of("tokens", new long[60]),
                "maxNewTokens", 10))), 400).get("error").asText()).contains("at most 4 new tokens fit");
    }

    @Test
    void anyHostButLoopbackNeedsAToken() {
        assertThatThrownBy(() -> ServerOptions.loopback(0).withHost("0.0.0.0")).isInstanceOf(LoupeException.class)
                .hasMessageContaining("--token");
        assertThat(ServerOptions.loopback(0).withToken("t").withHost("0.0.0.0").host()).isEqualTo("0.0.0.0");
    }

    /** Sends {@code request} as written (no client normalises its path) and reads the whole answer. */
    private static String raw(String request) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
