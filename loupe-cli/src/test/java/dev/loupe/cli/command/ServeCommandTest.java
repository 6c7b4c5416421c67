package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code loupe serve}: it prints its address, serves the API there, and stops when interrupted. */
class ServeCommandTest {
    private static final Pattern URL = Pattern.compile("at (http://\\S+) \\(Ctrl-C stops\\)");

    @Test
    void servesTheGivenModelOnAFreePortWithAGeneratedTokenOffLoopback() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        AtomicInteger code = new AtomicInteger(-1);
        Thread serving = new Thread(() -> {
            CommandLine cli = new CommandLine(new Main());
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            code.set(cli.execute("serve", "--model", "../models/induction-2l", "--port", "0", "--host", "0.0.0.0"));
        });
        serving.start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!out.toString().contains("\n") && serving.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            String first = out.toString().strip();
            Matcher m = URL.matcher(first);
            assertThat(m.find()).as("stdout: " + first + "; stderr: " + err).isTrue();
            URI url = URI.create(m.group(1));
            assertThat(first).startsWith("loupe: serving induction-2l at http://0.0.0.0:");
            String token = url.getQuery().substring("token=".length());
            assertThat(token).hasSize(32);
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            URI models = URI.create("http://127.0.0.1:" + url.getPort() + "/api/v1/models");
            HttpResponse<String> refused = client.send(HttpRequest.newBuilder(models).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(401);
            HttpResponse<String> ok = client.send(HttpRequest.newBuilder(models).header("Authorization", "Bearer " + token)
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.body()).contains("\"name\":\"induction-2l\"");
        } finally {
            serving.interrupt();
            serving.join(20_000);
        }
        assertThat(serving.isAlive()).isFalse();
        assertThat(code.get()).as(err.toString()).isZero();
    }

    @Test
    void aMissingModelFolderIsOneLine() {
        run("serve", "--model", "no/such/folder", "--port", "0")
                .failedWithOneLine("No such folder: model folder no/such/folder does not exist");
    }
}
