package dev.loupe.hub;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.TensorAssert;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Downloads from a Hub served on loopback into a huggingface_hub-shaped cache. */
class HubDownloadTest extends LoopbackHubTest {
    private static final Path GPT2_TOK = Fixtures.model("gpt2-tok");


    @Test
    void aModelDownloadedByRepoIdGivesTheLogitsOfItsFolder() throws IOException {
        LoopbackHub.Repo repo = hub.addModel("loupe-test/gpt2-tok", GPT2_TOK);
        Path snapshot = HubTestSupport.client(hub, cache).downloadModel("loupe-test/gpt2-tok", "main");

        assertThat(snapshot).isEqualTo(cache.resolve("models--loupe-test--gpt2-tok/snapshots/" + repo.commit()));
        try (HookedTransformer downloaded = HookedTransformer.fromPretrainedNoProcessing(snapshot);
                HookedTransformer local = HookedTransformer.fromPretrainedNoProcessing(GPT2_TOK);
                NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = downloaded.toTokens("The quick brown fox jumps over the lazy dog", manager);
            TensorAssert.assertClose("logits", downloaded.forward(tokens), local.forward(tokens), 0.0);
            assertThat(downloaded.config().modelName()).isEqualTo("gpt2-tok");
        }
        for (String file : List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                "model.safetensors")) {
            assertThat(snapshot.resolve(file)).hasBinaryContent(Files.readAllBytes(GPT2_TOK.resolve(file)));
        }
    }

    @Test
    void theCacheIsLaidOutAsHuggingfaceHubLaysItOut() throws IOException {
        LoopbackHub.Repo repo = hub.addModel("loupe-test/gpt2-tok", GPT2_TOK);
        Path snapshot = HubTestSupport.client(hub, cache).downloadModel("loupe-test/gpt2-tok", "main");
        Path folder = cache.resolve("models--loupe-test--gpt2-tok");

        assertThat(Files.readString(folder.resolve("refs/main"), StandardCharsets.UTF_8)).isEqualTo(repo.commit());
        String sha256 = LoopbackHub.sha256Hex(repo.bytes("model.safetensors"));
        Path weights = snapshot.resolve("model.safetensors");
        assertThat(Files.isSymbolicLink(weights)).isTrue();
        assertThat(Files.readSymbolicLink(weights)).isEqualTo(Path.of("../../blobs/" + sha256));
        String configEtag = LoopbackHub.gitBlobId(repo.bytes("config.json"));
        assertThat(Files.readSymbolicLink(snapshot.resolve("config.json")))
                .isEqualTo(Path.of("../../blobs/" + configEtag));
        assertThat(folder.resolve("blobs/" + sha256)).hasBinaryContent(repo.bytes("model.safetensors"));
        // Files the repository lacks are remembered, as huggingface_hub does, for later offline runs.
        assertThat(folder.resolve(".no_exist/" + repo.commit() + "/special_tokens_map.json")).isRegularFile();
        assertThat(cache.resolve(".locks/models--loupe-test--gpt2-tok/" + sha256 + ".lock")).isRegularFile();
        try (var blobs = Files.list(folder.resolve("blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".incomplete"));
        }
    }

    @Test
    void aSecondDownloadOfACachedModelFetchesNoBytes() {
        LoopbackHub.Repo repo = hub.addModel("loupe-test/gpt2-tok", GPT2_TOK);
        HubClient client = HubTestSupport.client(hub, cache);
        Path first = client.downloadModel("loupe-test/gpt2-tok", "main");
        int requestsBefore = hub.requests().size();

        Path second = client.downloadModel("loupe-test/gpt2-tok", "main");

        assertThat(second).isEqualTo(first);
        List<LoopbackHub.Request> later = hub.requests().subList(requestsBefore, hub.requests().size());
        assertThat(later).extracting(LoopbackHub.Request::method).containsOnly("HEAD");
        assertThat(hub.downloadsOf(repo, "model.safetensors")).hasSize(1);
        // Only config.json is asked about again: the rest is pinned to the commit it named.
        assertThat(later).hasSize(1);
    }

    @Test
    void aRenamedRepositoryIsFollowedAndCachedUnderTheNameAskedFor() throws IOException {
        LoopbackHub.Repo repo = hub.addModel("openai-community/gpt2", GPT2_TOK);
        hub.rename("gpt2", "openai-community/gpt2");

        Path snapshot = HubTestSupport.client(hub, cache).downloadModel("gpt2", "main");

        assertThat(snapshot).isEqualTo(cache.resolve("models--gpt2/snapshots/" + repo.commit()));
        assertThat(snapshot.resolve("model.safetensors"))
                .hasBinaryContent(Files.readAllBytes(GPT2_TOK.resolve("model.safetensors")));
        assertThat(hub.requests()).extracting(LoopbackHub.Request::path)
                .contains("/gpt2/resolve/main/config.json", "/openai-community/gpt2/resolve/main/config.json");
    }

    @Test
    void shardedWeightsComeThroughTheirIndex() {
        Path sharded = Fixtures.model("extra/llama_sharded");
        hub.addModel("loupe-test/llama-sharded", sharded);
        Path snapshot = HubTestSupport.client(hub, cache).downloadModel("loupe-test/llama-sharded", "main");

        assertThat(snapshot.resolve("model.safetensors.index.json")).isRegularFile();
        for (int shard = 1; shard <= 3; shard++) {
            assertThat(snapshot.resolve("model-0000" + shard + "-of-00003.safetensors")).isRegularFile();
        }
        try (HookedTransformer downloaded = HookedTransformer.fromPretrainedNoProcessing(snapshot);
                HookedTransformer local = HookedTransformer.fromPretrainedNoProcessing(sharded);
                NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(new long[][] {{1, 5, 9, 200, 3}});
            TensorAssert.assertClose("logits", downloaded.forward(tokens), local.forward(tokens), 0.0);
        }
    }

    @Test
    void withoutSafetensorsThePytorchCheckpointIsFetched() throws IOException {
        byte[] checkpoint = new byte[4096];
        checkpoint[0] = 'P';
        hub.addRepo(RepoType.MODEL, "loupe-test/old-style", null)
                .file("config.json", Files.readAllBytes(GPT2_TOK.resolve("config.json")))
                .file("pytorch_model.bin", checkpoint);

        Path snapshot = HubTestSupport.client(hub, cache).downloadModel("loupe-test/old-style", "main");

        assertThat(snapshot.resolve("pytorch_model.bin")).hasBinaryContent(checkpoint);
        assertThat(snapshot.resolve("model.safetensors")).doesNotExist();
        // The formats Loupe prefers were asked for first, and not found.
        List<String> asked = hub.requests().stream().map(r -> r.path().substring(r.path().lastIndexOf('/') + 1))
                .toList();
        assertThat(asked).containsSubsequence("config.json", "model.safetensors", "model.safetensors.index.json",
                "pytorch_model.bin");
    }

    @Test
    void aFileOfASpaceLandsInTheSpacesCacheFolder() throws IOException {
        byte[] config = "{\"base_model_name_or_path\": \"gpt2\"}".getBytes(StandardCharsets.UTF_8);
        byte[] params = new byte[70_000];
        for (int i = 0; i < params.length; i++) {
            params[i] = (byte) (i * 31);
        }
        LoopbackHub.Repo space = hub.addRepo(RepoType.SPACE, "loupe-test/lenses", null)
                .file("lens/gpt2/config.json", config).file("lens/gpt2/params.pt", params);
        HubClient client = HubTestSupport.client(hub, cache);

        Path configFile = client.download(HubRepo.space("loupe-test/lenses"), "main", "lens/gpt2/config.json");
        Path paramsFile = client.download(HubRepo.space("loupe-test/lenses"), "main", "lens/gpt2/params.pt");

        Path folder = cache.resolve("spaces--loupe-test--lenses");
        assertThat(configFile).isEqualTo(folder.resolve("snapshots/" + space.commit() + "/lens/gpt2/config.json"));
        assertThat(configFile).hasBinaryContent(config);
        assertThat(paramsFile).hasBinaryContent(params);
        assertThat(Files.readSymbolicLink(paramsFile))
                .isEqualTo(Path.of("../../../../blobs/" + LoopbackHub.sha256Hex(params)));
        assertThat(hub.requests()).extracting(LoopbackHub.Request::path)
                .contains("/spaces/loupe-test/lenses/resolve/main/lens/gpt2/config.json");
        assertThat(client.downloadIfPresent(HubRepo.space("loupe-test/lenses"), "main", "lens/gpt2/missing.json"))
                .isEmpty();
    }

    @Test
    void aRevisionGivenAsACommitHashNeedsNoNetworkOnceCached() {
        LoopbackHub.Repo repo = hub.addModel("loupe-test/gpt2-tok", GPT2_TOK);
        HubClient client = HubTestSupport.client(hub, cache);
        Path snapshot = client.downloadModel("loupe-test/gpt2-tok", repo.commit());
        int requestsBefore = hub.requests().size();

        assertThat(client.downloadModel("loupe-test/gpt2-tok", repo.commit())).isEqualTo(snapshot);
        assertThat(hub.requests()).hasSize(requestsBefore);
        assertThat(cache.resolve("models--loupe-test--gpt2-tok/refs")).doesNotExist();
    }
}
