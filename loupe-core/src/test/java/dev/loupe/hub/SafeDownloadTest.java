package dev.loupe.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Interrupted, corrupted, concurrent and disk-full downloads leave the cache whole. */
class SafeDownloadTest {
    private static final String WEIGHTS = "model.safetensors";

    @TempDir
    Path temp;

    private LoopbackHub hub;
    private Path cache;
    private LoopbackHub.Repo repo;
    private HubRepo model;

    @BeforeEach
    void startHub() {
        hub = LoopbackHub.start();
        cache = temp.resolve("hub");
        repo = hub.addModel("loupe-test/gpt2-tok", Fixtures.model("gpt2-tok"));
        model = HubRepo.model("loupe-test/gpt2-tok");
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    @Test
    void aConnectionCutMidwayIsResumedWithARangeRequest() throws IOException {
        hub.cutFirstDownloadAfter(WEIGHTS, 1_000_000);

        Path weights = HubTestSupport.client(hub, cache).download(model, "main", WEIGHTS);

        assertThat(weights).hasBinaryContent(repo.bytes(WEIGHTS));
        List<LoopbackHub.Request> gets = hub.downloadsOf(repo, WEIGHTS);
        assertThat(gets).hasSize(2);
        assertThat(gets.get(0).range()).isNull();
        // The resume starts where the bytes that reached the file end: at most where the server cut
        // (the client's last buffer may be lost with the connection), and well past the start.
        assertThat(gets.get(1).range()).matches("bytes=\\d+-");
        long resumedAt = Long.parseLong(gets.get(1).range().replaceAll("\\D", ""));
        assertThat(resumedAt).isBetween(500_000L, 1_000_000L);
        assertThat(blobNames()).containsExactly(LoopbackHub.sha256Hex(repo.bytes(WEIGHTS)));
    }

    @Test
    void aPartialFileLeftByAKilledProcessIsResumed() throws IOException {
        String sha256 = LoopbackHub.sha256Hex(repo.bytes(WEIGHTS));
        Path part = cache.resolve("models--loupe-test--gpt2-tok/blobs/" + sha256 + ".incomplete");
        Files.createDirectories(part.getParent());
        Files.write(part, Arrays.copyOf(repo.bytes(WEIGHTS), 123_457));

        Path weights = HubTestSupport.client(hub, cache).download(model, "main", WEIGHTS);

        assertThat(weights).hasBinaryContent(repo.bytes(WEIGHTS));
        assertThat(hub.downloadsOf(repo, WEIGHTS)).extracting(LoopbackHub.Request::range)
                .containsExactly("bytes=123457-");
        assertThat(part).doesNotExist();
    }

    @Test
    void aCorruptedBodyIsRejectedAndNothingIsCached() throws IOException {
        hub.corrupt(WEIGHTS);
        HubClient client = HubTestSupport.client(hub, cache);

        assertThatThrownBy(() -> client.download(model, "main", WEIGHTS))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(HubException.Reason.CORRUPT))
                .hasMessageContaining("model.safetensors of loupe-test/gpt2-tok is corrupt")
                .hasMessageContaining(LoopbackHub.sha256Hex(repo.bytes(WEIGHTS)))
                .hasMessageContaining("nothing was cached")
                .hasMessageContaining("Run again");
        assertThat(blobNames()).isEmpty();
        assertThat(cache.resolve("models--loupe-test--gpt2-tok/snapshots/" + repo.commit() + "/" + WEIGHTS))
                .doesNotExist();
        assertThat(client.cache().cachedFile(model, "main", WEIGHTS)).isEmpty();
    }

    @Test
    void twoThreadsDownloadingOneFileBothGetItAndTheServerSendsItOnce() throws Exception {
        // The server holds the bytes back until both threads have asked about the file, so the
        // second one must wait on the lock while the first downloads.
        hub.holdDownloadUntilHeads(WEIGHTS, 2);
        HubClient first = HubTestSupport.client(hub, cache);
        HubClient second = HubTestSupport.client(hub, cache);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (HubClient client : List.of(first, second)) {
                Callable<Path> download = () -> client.download(model, "main", WEIGHTS);
                results.add(pool.submit(download));
            }
            for (Future<Path> result : results) {
                assertThat(result.get()).hasBinaryContent(repo.bytes(WEIGHTS));
            }
            assertThat(results.get(0).get()).isEqualTo(results.get(1).get());
        } finally {
            pool.shutdownNow();
        }
        assertThat(hub.downloadsOf(repo, WEIGHTS)).hasSize(1);
        assertThat(blobNames()).containsExactly(LoopbackHub.sha256Hex(repo.bytes(WEIGHTS)));
    }

    @Test
    void aFullDiskLeavesNothingBehind() throws IOException {
        // /dev/full answers every write with ENOSPC, as a full disk does.
        Path devFull = Path.of("/dev/full");
        assumeTrue(Files.isWritable(devFull), "needs Linux's /dev/full");
        String sha256 = LoopbackHub.sha256Hex(repo.bytes(WEIGHTS));
        Path part = cache.resolve("models--loupe-test--gpt2-tok/blobs/" + sha256 + ".incomplete");
        Files.createDirectories(part.getParent());
        Files.createSymbolicLink(part, devFull);

        assertThatThrownBy(() -> HubTestSupport.client(hub, cache).download(model, "main", WEIGHTS))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(HubException.Reason.DISK_FULL))
                .hasMessageContaining("The disk filled up while downloading model.safetensors")
                .hasMessageContaining("partial file was removed")
                .hasMessageContaining("HF_HUB_CACHE");
        assertThat(Files.exists(part, java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(blobNames()).isEmpty();
        assertThat(cache.resolve("models--loupe-test--gpt2-tok/snapshots/" + repo.commit() + "/" + WEIGHTS))
                .doesNotExist();
    }

    private List<String> blobNames() throws IOException {
        Path blobs = cache.resolve("models--loupe-test--gpt2-tok/blobs");
        if (!Files.isDirectory(blobs)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(blobs)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
