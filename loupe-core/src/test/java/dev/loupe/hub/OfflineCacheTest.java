package dev.loupe.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.TensorAssert;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** With HF_HUB_OFFLINE=1, models come from a cache laid out as Python's huggingface_hub lays it out. */
class OfflineCacheTest extends LoopbackHubTest {
    private static final Path GPT2_TOK = Fixtures.model("gpt2-tok");
    /** A commit hash as the Hub writes them. */
    private static final String COMMIT = "607a30d783dfa663caf39e06633721c8d4cfcd7e";

    @Override
    String cacheFolder() {
        return "huggingface/hub";
    }

    @Test
    void aModelCachedByPythonLoadsOfflineWithTheLogitsOfItsFolder() throws IOException {
        Path snapshot = cacheAsHuggingfaceHubDoes("models--loupe-test--gpt2-tok");
        ModelResolver resolver = new ModelResolver(offlineClient(), ModelRegistry.official());

        Path resolved = resolver.resolve("loupe-test/gpt2-tok");

        assertThat(resolved).isEqualTo(snapshot);
        assertThat(hub.requests()).isEmpty();
        try (HookedTransformer cached = HookedTransformer.fromPretrainedNoProcessing(resolved);
                HookedTransformer local = HookedTransformer.fromPretrainedNoProcessing(GPT2_TOK);
                NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = cached.toTokens("Offline, the cache is all there is.", manager);
            TensorAssert.assertClose("logits", cached.forward(tokens), local.forward(tokens), 0.0);
        }
    }

    @Test
    void anAliasFindsItsOfficialNamesCacheFolderOffline() throws IOException {
        // gpt2-small is TransformerLens's alias of gpt2, whose repository folder is models--gpt2.
        Path snapshot = cacheAsHuggingfaceHubDoes("models--gpt2");
        ModelResolver resolver = new ModelResolver(offlineClient(), ModelRegistry.official());

        assertThat(resolver.resolve("gpt2-small")).isEqualTo(snapshot);
        assertThat(resolver.resolve("GPT2")).isEqualTo(snapshot);
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void offlineWithNothingCachedSaysWhichFileAndThatOfflineModeIsOn() {
        ModelResolver resolver = new ModelResolver(offlineClient(), ModelRegistry.official());

        assertThatThrownBy(() -> resolver.resolve("loupe-test/gpt2-tok"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_CACHED))
                .hasMessageContaining("config.json of loupe-test/gpt2-tok")
                .hasMessageContaining("not in the Hugging Face cache " + cache)
                .hasMessageContaining("offline mode is on (HF_HUB_OFFLINE)")
                .hasMessageContaining("loupe download loupe-test/gpt2-tok");
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void offlineWithoutCachedWeightsSaysSo() throws IOException {
        Path snapshot = cacheAsHuggingfaceHubDoes("models--loupe-test--gpt2-tok");
        Files.delete(snapshot.resolve("model.safetensors"));

        assertThatThrownBy(() -> offlineClient().downloadModel("loupe-test/gpt2-tok", "main"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_CACHED))
                .hasMessageContaining("No weights of loupe-test/gpt2-tok are in the cache")
                .hasMessageContaining("offline mode is on");
    }

    @Test
    void aModelDownloadedByLoupeIsLaidOutAsTheHandMadeOne() throws IOException {
        hub.addModel("loupe-test/gpt2-tok", GPT2_TOK);
        HubSettings online = HubTestSupport.settings(hub, cache);
        Path downloaded = new HubClient(online, DownloadProgress.QUIET).downloadModel("loupe-test/gpt2-tok", "main");
        int requests = hub.requests().size();

        Path offline = new HubClient(online.withOffline(true), DownloadProgress.QUIET)
                .downloadModel("loupe-test/gpt2-tok", "main");

        assertThat(offline).isEqualTo(downloaded);
        assertThat(hub.requests()).hasSize(requests);
    }

    /**
     * Builds {@code folder} as huggingface_hub 1.x leaves it after {@code snapshot_download}: blobs
     * named by ETag, relative symlinks from the snapshot, {@code refs/main}.
     */
    private Path cacheAsHuggingfaceHubDoes(String folder) throws IOException {
        Path repo = cache.resolve(folder);
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve(COMMIT));
        try (Stream<Path> files = Files.list(GPT2_TOK)) {
            for (Path file : files.filter(f -> !f.getFileName().toString().startsWith("reference")).toList()) {
                byte[] content = Files.readAllBytes(file);
                String name = file.getFileName().toString();
                String etag = LoopbackHub.isLfs(name) ? LoopbackHub.sha256Hex(content) : LoopbackHub.gitBlobId(content);
                Files.write(blobs.resolve(etag), content);
                Files.createSymbolicLink(snapshot.resolve(name), Path.of("..", "..", "blobs", etag));
            }
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), COMMIT, StandardCharsets.UTF_8);
        return snapshot;
    }

    private HubClient offlineClient() {
        HubSettings settings = HubSettings.fromVariables(Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HOME",
                temp.resolve("huggingface").toString(), "HF_HUB_OFFLINE", "1"), temp.resolve("home"));
        assertThat(settings.offline()).isTrue();
        assertThat(settings.hubCache()).isEqualTo(cache);
        return new HubClient(settings, DownloadProgress.QUIET);
    }
}
