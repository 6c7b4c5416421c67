package dev.loupe.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.loupe.hub.HubException.Reason;
import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Servers that misbehave as the fuzzing run's did: each download must end, soon, with an error
 * of its own that says what the server did, leaving nothing half-written in the snapshot.
 */
class HostileServerTest extends LoopbackHubTest {
    private static final String WEIGHTS = "model.safetensors";
    private static final String ID = "loupe-test/gpt2-tok";

    private LoopbackHub.Repo repo;
    private long size;

    @BeforeEach
    void addModel() {
        repo = hub.addModel(ID, Fixtures.model("gpt2-tok"));
        size = repo.bytes(WEIGHTS).length;
    }

    /**
     * The fuzzing reproduction (27,051 GETs in 60 s): the server announces the whole file, sends
     * 1,000 bytes and closes, and answers every resume from byte 0. Starting over is no progress,
     * so the download stops after a bounded number of tries.
     */
    @Test
    void aServerThatIgnoresRangeAndCutsEveryAnswerShortFailsSoonWithFewRequests() throws IOException {
        hub.ignoreRangeAndCutEveryDownloadAfter(WEIGHTS, 1_000);
        HubClient client = HubTestSupport.client(hub, cache);

        long started = System.nanoTime();
        assertFailsWithin(Duration.ofSeconds(20), () -> client.download(HubRepo.model(ID), "main", WEIGHTS))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NETWORK))
                .hasMessageContaining("The download of model.safetensors of " + ID + " failed")
                .hasMessageContaining("the server at " + hub.endpoint() + "/cdn/")
                .hasMessageContaining("stopped sending after 1000 of " + size + " bytes")
                .hasMessageContaining("retried 5 times without progress");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
        // One try that brought the 1,000 bytes, then 5 that brought nothing new.
        assertThat(hub.downloadsOf(repo, WEIGHTS)).hasSizeBetween(6, 8);
        assertNothingHalfWrittenInTheSnapshot();
    }

    /** A body that stops in the middle with the connection left open hits HF_HUB_DOWNLOAD_TIMEOUT. */
    @Test
    void aBodyThatStallsHitsTheDownloadTimeout() throws IOException {
        hub.stallDownloadsAt(WEIGHTS, 1_000);
        HubClient client = clientWithDownloadTimeoutProperty("1");

        assertFailsWithin(Duration.ofSeconds(30), () -> client.download(HubRepo.model(ID), "main", WEIGHTS))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NETWORK))
                .hasMessageContaining("stopped sending after 1000 of " + size + " bytes")
                .hasMessageContaining("retried 5 times without progress")
                .hasMessageContaining("no data arrived for 1 s (HF_HUB_DOWNLOAD_TIMEOUT)");
        assertThat(hub.downloadsOf(repo, WEIGHTS).get(1).range()).isEqualTo("bytes=1000-");
        assertNothingHalfWrittenInTheSnapshot();
    }

    /** One byte every 2 s never stops for long, but each wait is longer than the timeout. */
    @Test
    void aBodyThatTricklesHitsTheDownloadTimeout() throws IOException {
        hub.trickleDownloads(WEIGHTS, 2_000);
        HubClient client = clientWithDownloadTimeoutProperty("1");

        assertFailsWithin(Duration.ofSeconds(30), () -> client.download(HubRepo.model(ID), "main", WEIGHTS))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NETWORK))
                .hasMessageContaining("stopped sending after 0 of " + size + " bytes")
                .hasMessageContaining("retried 4 times without progress")
                // Whether the headers come before the first byte is the HTTP server's choice: either wait times out.
                .hasMessageContaining(" 1 s (HF_HUB_DOWNLOAD_TIMEOUT)");
        assertThat(hub.downloadsOf(repo, WEIGHTS)).hasSize(5);
        assertNothingHalfWrittenInTheSnapshot();
    }

    @ParameterizedTest
    @ValueSource(strings = {"file:///etc/passwd", "ftp://127.0.0.1/model.safetensors", "jar:file:/x.jar!/y"})
    void aRedirectToAnythingButHttpIsRefused(String location) throws IOException {
        hub.redirectMetadataTo(WEIGHTS, location);

        assertFailsWithin(Duration.ofSeconds(20), () -> HubTestSupport.client(hub, cache).downloadModel(ID, "main"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.BAD_RESPONSE))
                .hasMessageContaining("redirected to '" + location + "', which is not an http or https address")
                .hasMessageNotContaining("none of the weight files");
        assertNothingHalfWrittenInTheSnapshot();
    }

    @Test
    void aDownloadRedirectedToFtpIsRefused() throws IOException {
        hub.redirectDownloadsTo(WEIGHTS, "ftp://127.0.0.1/blob");

        assertFailsWithin(Duration.ofSeconds(20), () -> HubTestSupport.client(hub, cache).downloadModel(ID, "main"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.BAD_RESPONSE))
                .hasMessageContaining("/cdn/")
                .hasMessageContaining("redirected to 'ftp://127.0.0.1/blob', which is not an http or https address");
        assertNothingHalfWrittenInTheSnapshot();
    }

    @Test
    void aRedirectLoopHasItsOwnMessage() throws IOException {
        hub.redirectInALoop(WEIGHTS);

        assertFailsWithin(Duration.ofSeconds(20), () -> HubTestSupport.client(hub, cache).downloadModel(ID, "main"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.BAD_RESPONSE))
                .hasMessageContaining("Following the redirects from " + hub.endpoint() + "/" + ID + "/resolve/"
                        + repo.commit() + "/model.safetensors took more than 10 steps")
                .hasMessageContaining("go round in a loop")
                .hasMessageNotContaining("none of the weight files");
        assertNothingHalfWrittenInTheSnapshot();
    }

    @Test
    void metadataWithoutASizeHasItsOwnMessage() throws IOException {
        hub.leaveOutSize(WEIGHTS);

        assertFailsWithin(Duration.ofSeconds(20), () -> HubTestSupport.client(hub, cache).downloadModel(ID, "main"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.BAD_RESPONSE))
                .hasMessageContaining("/resolve/" + repo.commit() + "/model.safetensors did not say the file's size")
                .hasMessageNotContaining("none of the weight files");
        assertNothingHalfWrittenInTheSnapshot();
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", ".", "a/b", "../../../evil", ".hidden"})
    void anEtagThatCannotNameABlobIsRefusedLeavingNoPartialFile(String etag) throws IOException {
        hub.sendEtag(WEIGHTS, etag);

        assertFailsWithin(Duration.ofSeconds(20), () -> HubTestSupport.client(hub, cache).downloadModel(ID, "main"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.BAD_RESPONSE))
                .hasMessageContaining("answered with the ETag '" + etag + "', which cannot name a file in the cache")
                .hasMessageNotContaining("none of the weight files");
        assertThat(hub.downloadsOf(repo, WEIGHTS)).isEmpty();
        assertNothingHalfWrittenInTheSnapshot();
        try (Stream<Path> all = Files.walk(cache)) {
            assertThat(all.map(p -> cache.relativize(p).toString()))
                    .noneMatch(p -> p.endsWith(".incomplete") || p.contains("evil") || p.contains(".hidden"));
        }
    }

    @Test
    void theTimeoutsComeFromHuggingfaceHubsVariablesOrTheirSystemProperties() {
        HubSettings defaults = HubSettings.fromVariables(Map.of(), temp);
        assertThat(defaults.downloadTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(defaults.etagTimeout()).isEqualTo(Duration.ofSeconds(10));
        HubSettings set = HubSettings.fromVariables(Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "30",
                "HF_HUB_ETAG_TIMEOUT", "0.5"), temp);
        assertThat(set.downloadTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(set.etagTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(HubSettings.fromVariables(Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "0"), temp).downloadTimeout())
                .as("0 means the default, as in huggingface_hub").isEqualTo(Duration.ofSeconds(10));
        assertThatThrownBy(() -> HubSettings.fromVariables(Map.of("HF_HUB_ETAG_TIMEOUT", "soon"), temp))
                .hasMessageContaining("HF_HUB_ETAG_TIMEOUT must be a number of seconds");
        assertThatThrownBy(() -> HubSettings.fromVariables(Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "-3"), temp))
                .hasMessageContaining("HF_HUB_DOWNLOAD_TIMEOUT must be a positive number of seconds");

        Map<String, String> saved = saveProperties("HF_HUB_ETAG_TIMEOUT");
        try {
            System.setProperty("HF_HUB_ETAG_TIMEOUT", "7");
            assertThat(HubSettings.fromEnvironment().etagTimeout()).isEqualTo(Duration.ofSeconds(7));
        } finally {
            restoreProperties(saved);
        }
    }

    /** A client configured as a user would, from the environment, with HF_HUB_DOWNLOAD_TIMEOUT as a system property. */
    private HubClient clientWithDownloadTimeoutProperty(String seconds) {
        Map<String, String> saved = saveProperties("HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE",
                "HF_HUB_DOWNLOAD_TIMEOUT");
        try {
            System.setProperty("HF_ENDPOINT", hub.endpoint());
            System.setProperty("HF_HUB_CACHE", cache.toString());
            System.setProperty("HF_HUB_OFFLINE", "0");
            System.setProperty("HF_HUB_DOWNLOAD_TIMEOUT", seconds);
            HubSettings settings = HubSettings.fromEnvironment();
            assertThat(settings.downloadTimeout()).isEqualTo(Duration.ofMillis(Math.round(Double.parseDouble(seconds)
                    * 1000)));
            return new HubClient(settings, DownloadProgress.QUIET);
        } finally {
            restoreProperties(saved);
        }
    }

    private static Map<String, String> saveProperties(String... names) {
        Map<String, String> saved = new HashMap<>();
        for (String name : names) {
            saved.put(name, System.getProperty(name));
        }
        return saved;
    }

    private static void restoreProperties(Map<String, String> saved) {
        saved.forEach((name, value) -> {
            if (value == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, value);
            }
        });
    }

    private void assertNothingHalfWrittenInTheSnapshot() throws IOException {
        Path snapshots = cache.resolve("models--loupe-test--gpt2-tok/snapshots");
        assertThat(snapshots.resolve(repo.commit()).resolve(WEIGHTS)).doesNotExist();
        Path blobs = cache.resolve("models--loupe-test--gpt2-tok/blobs");
        if (Files.isDirectory(blobs)) {
            String sha256 = LoopbackHub.sha256Hex(repo.bytes(WEIGHTS));
            try (Stream<Path> files = Files.list(blobs)) {
                List<String> names = files.map(p -> p.getFileName().toString()).toList();
                assertThat(names).doesNotContain(sha256);
            }
        }
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertFailsWithin(Duration limit,
            Supplier<?> action) {
        Throwable thrown = assertTimeoutPreemptively(limit, () -> {
            try {
                action.get();
                return null;
            } catch (RuntimeException e) {
                return e;
            }
        });
        assertThat(thrown).as("the download fails").isNotNull();
        return assertThatThrownBy(() -> {
            throw thrown;
        });
    }
}
