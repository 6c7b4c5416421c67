package dev.loupe.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.server.explore.Limits;
import dev.loupe.server.explore.ServedModel;
import dev.loupe.testing.Fixtures;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Many clients at once on loopback against the shipped induction model: every request ends in a 200
 * (a "busy" 503 is retried), none in a 5xx, none hangs; the server's memory after the run stays
 * within 10 % of what it was after a warm-up round; a client that leaves mid-generation frees its turn.
 *
 * <p>The server of the load round runs in a JVM of its own ({@link ChildServer}) whose Java heap is
 * fixed and resident from the start ({@code -Xms256m -Xmx256m -XX:+AlwaysPreTouch}) and whose glibc
 * allocator is set as {@code ./loupe} sets it ({@code scripts/jvm-env.sh}), as {@code MemoryGrowthTest}
 * measures the core: what its resident set gains is then native memory the runs kept.
 */
class LoadTest {
    private static final int CLIENTS = 16;
    private static final int REQUESTS = 50;

    private static Process child;
    private static int port;

    @BeforeAll
    static void start() throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch",
                "-Xss4m", "-Dai.djl.offline=true", "-Dai.djl.pytorch.graph_optimizer=false",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=off",
                "-Dorg.slf4j.simpleLogger.log.ai.djl.pytorch.jni.LibUtils=off"));
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ChildServer.class.getName(),
                ApiTest.INDUCTION.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        builder.environment().put("MALLOC_MMAP_THRESHOLD_", "33554432");
        builder.environment().put("MALLOC_TRIM_THRESHOLD_", "1073741824");
        child = builder.start();
        String line = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertThat(line).as("the child server's first line").startsWith("port ");
        port = Integer.parseInt(line.substring(5).trim());
    }

    @AfterAll
    static void stop() throws Exception {
        if (child != null) {
            child.getOutputStream().close();
            if (!child.waitFor(20, TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
    }

    /** The mixed requests, each a route and a body on a fresh repeated sequence. */
    private static Map.Entry<String, String> request(int i) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int n = 5 + random.nextInt(10);
        long[] ids = new long[1 + 2 * n];
        int first = random.nextInt(299);
        for (int k = 1; k <= n; k++) {
            // n consecutive ids (mod 299) from a random start: all different, so an answer never equals the wrong one.
            ids[k] = 1 + (first + k) % 299;
            ids[n + k] = ids[k];
        }
        Map<String, Object> prompt = Map.of("tokens", ids);
        Map<String, Object> ablate = Map.of("kind", i % 2 == 0 ? "zero" : "mean", "target", "head", "layer", 1, "head",
                random.nextInt(4));
        return switch (i % 8) {
            case 0 -> Map.entry("run", Http.json(Map.of("prompt", prompt)));
            case 1 -> Map.entry("trajectory", Http.json(Map.of("prompt", prompt)));
            case 2 -> Map.entry("attention", Http.json(Map.of("prompt", prompt)));
            case 3 -> Map.entry("intervene", Http.json(Map.of("prompt", prompt, "interventions", List.of(ablate))));
            case 4 -> Map.entry("patch", Http.json(Map.of("clean", prompt, "corrupted", Map.of("tokens", corrupt(ids)),
                    "answer", ids[n], "wrong", ids[1])));
            case 5 -> Map.entry("attribution", Http.json(Map.of("prompt", prompt)));
            case 6 -> Map.entry("generate", Http.json(Map.of("prompt", prompt, "maxNewTokens", 8, "interventions",
                    List.of(ablate))));
            default -> Map.entry("tokenize", Http.json(Map.of("prompt", prompt)));
        };
    }

    private static long[] corrupt(long[] ids) {
        long[] out = ids.clone();
        out[1] = out[1] % 299 + 1;
        return out;
    }

    /** Latencies in ms of every request of {@code clients} × {@code each}, retrying "busy" answers. */
    private static List<Long> round(int clients, int each, AtomicInteger busy) throws Exception {
        Http http = new Http(port);
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                done.add(pool.submit(() -> {
                    for (int r = 0; r < each; r++) {
                        Map.Entry<String, String> request = request(client + r);
                        long start = System.nanoTime();
                        for (int attempt = 0; ; attempt++) {
                            HttpResponse<String> response = http.post(request.getKey(), request.getValue());
                            if (response.statusCode() == 503) {
                                assertThat(response.headers().firstValue("Retry-After")).isPresent();
                                busy.incrementAndGet();
                                assertThat(attempt).as("retries of one request").isLessThan(2000);
                                // A short jittered pause instead of the header's whole second keeps the test quick.
                                Thread.sleep(10 + ThreadLocalRandom.current().nextInt(30));
                                continue;
                            }
                            assertThat(response.statusCode()).as(request.getKey() + ": " + response.body()).isEqualTo(200);
                            break;
                        }
                        latencies.add((System.nanoTime() - start) / 1_000_000);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(5, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        return latencies;
    }

    @Test
    void sixteenClientsOfFiftyMixedRequestsAllSucceedWithoutLeaking() throws Exception {
        AtomicInteger busy = new AtomicInteger();
        round(CLIENTS, 20, busy);
        long warm = rssKiB(child.pid());
        List<Long> latencies = new ArrayList<>(round(CLIENTS, REQUESTS, busy));
        long after = rssKiB(child.pid());
        assertThat(latencies).hasSize(CLIENTS * REQUESTS);
        Collections.sort(latencies);
        String line = String.format(Locale.ROOT, "load: %d clients x %d mixed requests, p50 %d ms, p95 %d ms, max %d ms,"
                + " %d busy answers retried, RSS after warm-up %d MiB, after the run %d MiB (%+.1f %%)", CLIENTS, REQUESTS,
                latencies.get(latencies.size() / 2), latencies.get(latencies.size() * 95 / 100),
                latencies.get(latencies.size() - 1), busy.get(), warm / 1024, after / 1024, 100.0 * (after - warm) / warm);
        System.out.println(line);
        Files.writeString(Path.of("target", "load-test.txt"), line + "\n");
        assertThat(after).as(line).isLessThanOrEqualTo(warm + warm / 10);
    }

    @Test
    void aClientThatLeavesMidGenerationFreesItsTurn() throws Exception {
        try (ServedModel gpt = ServedModel.load(Fixtures.model("gpt2-tok"), null);
                LoupeServer lone = LoupeServer.start(List.of(gpt), ServerOptions.loopback(0).withRuns(1, 0)
                        .withLimits(new Limits(256, 900, 10, 4096, 16)))) {
            String body = Http.json(Map.of("prompt", Map.of("text", "Once upon a time"), "maxNewTokens", 900,
                    "interventions", List.of(Map.of("kind", "mean", "target", "head", "layer", 0, "head", 1))));
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), lone.port())) {
                socket.setSoTimeout(30_000);
                OutputStream out = socket.getOutputStream();
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                out.write(("POST /api/v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(bytes);
                out.flush();
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                assertThat(in.readLine()).startsWith("HTTP/1.1 200");
                String line;
                do {
                    line = in.readLine();
                } while (line != null && !line.contains("\"step\""));
                assertThat(line).as("the first streamed token").contains("\"step\":0");
                assertThat(lone.runsAdmitted()).isEqualTo(1);
            }
            Http http = new Http(lone, null);
            for (int i = 0; i < 600 && (lone.runsAdmitted() > 0 || lone.abandonedGenerations() == 0); i++) {
                Thread.sleep(50);
            }
            assertThat(lone.abandonedGenerations()).as("generations stopped when their client left").isEqualTo(1);
            assertThat(lone.runsAdmitted()).isZero();
            HttpResponse<String> next = http.send(http.request("/api/v1/run").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(Http.json(Map.of("prompt", Map.of("text", "Hello"))))).build());
            assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
        }
    }

    /** A process's resident memory in KiB ({@code VmRSS} of /proc/PID/status; Linux). */
    private static long rssKiB(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("No VmRSS in /proc/" + pid + "/status");
    }
}
