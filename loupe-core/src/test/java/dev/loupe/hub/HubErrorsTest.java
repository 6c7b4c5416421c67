package dev.loupe.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.hub.HubException.Reason;
import dev.loupe.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the Hub refuses becomes an error that says what to do. */
class HubErrorsTest extends LoopbackHubTest {
    @Test
    void aGatedModelSaysWhereToAcceptTheLicenceAndToSetHfToken() {
        hub.addModel("loupe-test/gated", Fixtures.model("gpt2-tok")).gated("hf_secret");

        assertThatThrownBy(() -> HubTestSupport.client(hub, cache).downloadModel("loupe-test/gated", "main"))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.GATED))
                .hasMessageContaining("gated or private (HTTP 401)")
                .hasMessageContaining("Accept its licence at " + hub.endpoint() + "/loupe-test/gated")
                .hasMessageContaining("set HF_TOKEN");
        assertThat(cache.resolve("models--loupe-test--gated/snapshots")).doesNotExist();
    }

    @Test
    void theTokenInHfTokenIsSentAsABearerTokenAndOpensAGatedModel() {
        hub.addModel("loupe-test/gated", Fixtures.model("gpt2-tok")).gated("hf_secret");
        HubSettings settings = HubSettings.fromVariables(Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HUB_CACHE",
                cache.toString(), "HF_TOKEN", "hf_secret"), temp);

        Path snapshot = new HubClient(settings, DownloadProgress.QUIET).downloadModel("loupe-test/gated", "main");

        assertThat(snapshot.resolve("model.safetensors")).isRegularFile();
        assertThat(hub.requests()).filteredOn(r -> r.path().contains("/resolve/"))
                .extracting(LoopbackHub.Request::authorization).containsOnly("Bearer hf_secret");
    }

    @Test
    void aTokenThatMayNotReadTheModelIsToldApartFromNoToken() {
        hub.addModel("loupe-test/gated", Fixtures.model("gpt2-tok")).gated("hf_secret");
        HubSettings settings = HubSettings.fromVariables(Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HUB_CACHE",
                cache.toString(), "HF_TOKEN", "hf_other"), temp);

        assertThatThrownBy(() -> new HubClient(settings, DownloadProgress.QUIET)
                .downloadModel("loupe-test/gated", "main"))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.GATED))
                .hasMessageContaining("the token in HF_TOKEN may not read it")
                .hasMessageNotContaining("hf_other");
    }

    @Test
    void aMissingModelIsNamedWithTheFix() {
        assertThatThrownBy(() -> HubTestSupport.client(hub, cache).downloadModel("loupe-test/no-such-model", "main"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.REPO_NOT_FOUND))
                .hasMessageContaining("No repository 'loupe-test/no-such-model' on " + hub.endpoint() + " (HTTP 404)")
                .hasMessageContaining("check the spelling");
        assertThat(cache.resolve("models--loupe-test--no-such-model/snapshots")).doesNotExist();
    }

    @Test
    void aMissingFileIsNamedWithWhereToSeeTheFiles() {
        hub.addModel("loupe-test/gpt2-tok", Fixtures.model("gpt2-tok"));

        assertThatThrownBy(() -> HubTestSupport.client(hub, cache)
                .download(HubRepo.model("loupe-test/gpt2-tok"), "main", "pytorch_model.bin"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.FILE_NOT_FOUND))
                .hasMessageContaining("loupe-test/gpt2-tok has no file 'pytorch_model.bin' at revision 'main'")
                .hasMessageContaining(hub.endpoint() + "/loupe-test/gpt2-tok/tree/main");
    }

    @Test
    void aRepositoryWithoutConfigIsNotAModel() {
        hub.addRepo(RepoType.MODEL, "loupe-test/just-weights", null).file("model.safetensors", new byte[] {1, 2});

        assertThatThrownBy(() -> HubTestSupport.client(hub, cache).downloadModel("loupe-test/just-weights", "main"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.FILE_NOT_FOUND))
                .hasMessageContaining("has no config.json at revision 'main'");
    }

    @Test
    void anUnknownRevisionIsNamed() {
        hub.addModel("loupe-test/gpt2-tok", Fixtures.model("gpt2-tok"));

        assertThatThrownBy(() -> HubTestSupport.client(hub, cache).downloadModel("loupe-test/gpt2-tok", "v9"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.REVISION_NOT_FOUND))
                .hasMessageContaining("loupe-test/gpt2-tok has no revision 'v9'");
    }

    @Test
    void whenTheHubCannotBeReachedTheCachedRevisionServes() {
        hub.addModel("loupe-test/gpt2-tok", Fixtures.model("gpt2-tok"));
        HubSettings settings = HubTestSupport.settings(hub, cache);
        Path snapshot = new HubClient(settings, DownloadProgress.QUIET).downloadModel("loupe-test/gpt2-tok", "main");
        hub.close();

        assertThat(new HubClient(settings, DownloadProgress.QUIET).downloadModel("loupe-test/gpt2-tok", "main"))
                .isEqualTo(snapshot);
        assertThatThrownBy(() -> new HubClient(settings, DownloadProgress.QUIET)
                .downloadModel("loupe-test/other", "main"))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NETWORK))
                .hasMessageContaining("Could not reach " + hub.endpoint())
                .hasMessageContaining("Nothing is cached for config.json of loupe-test/other");
    }

    @Test
    void aModelCachedBySnapshotDownloadServesWhenTheHubIsDownThoughItRecordsNoMissingFiles() throws Exception {
        hub.addModel("loupe-test/gpt2-tok", Fixtures.model("gpt2-tok"));
        HubSettings settings = HubTestSupport.settings(hub, cache);
        Path snapshot = new HubClient(settings, DownloadProgress.QUIET).downloadModel("loupe-test/gpt2-tok", "main");
        // huggingface_hub's snapshot_download lists the files first, so it leaves no .no_exist markers.
        deleteTree(cache.resolve("models--loupe-test--gpt2-tok/.no_exist"));
        hub.close();

        assertThat(new HubClient(settings, DownloadProgress.QUIET).downloadModel("loupe-test/gpt2-tok", "main"))
                .isEqualTo(snapshot);
        assertThatThrownBy(() -> new HubClient(settings, DownloadProgress.QUIET)
                .downloadIfPresent(HubRepo.model("loupe-test/gpt2-tok"), "main", "special_tokens_map.json"))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NETWORK));
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        try (var paths = Files.walk(root)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    @Test
    void aNameThatIsNeitherFolderNorModelNorRepositoryGetsSuggestions() {
        ModelResolver resolver = new ModelResolver(HubTestSupport.client(hub, cache), ModelRegistry.official());

        assertThatThrownBy(() -> resolver.resolve("gpt2-smal"))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_NAME))
                .hasMessageContaining("gpt2-small")
                .hasMessageContaining("'org/name'");
        assertThatThrownBy(() -> resolver.resolve("./no/such/folder"))
                .hasMessageContaining("No such folder: model folder ./no/such/folder does not exist");
        // "src" exists beside the test, so "src/x" is a mistyped folder, not the Hub repository "src/x".
        assertThatThrownBy(() -> resolver.resolve("src/no-such-model"))
                .hasMessageContaining("No such folder: model folder src/no-such-model");
        assertThatThrownBy(() -> resolver.resolve("org/na--me"))
                .isInstanceOf(HubException.class);
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void aModelPathThatIsAFileSaysAModelIsAFolderWithConfigJson() throws Exception {
        ModelResolver resolver = new ModelResolver(HubTestSupport.client(hub, cache), ModelRegistry.official());
        Path folder = Files.createDirectories(temp.resolve("my-model"));
        Files.writeString(folder.resolve("config.json"), "{}");
        Path weights = Files.write(folder.resolve("model.safetensors"), new byte[8]);
        Path loose = Files.write(temp.resolve("notes.txt"), new byte[1]);

        assertThatThrownBy(() -> resolver.resolve(weights.toString()))
                .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_NAME))
                .hasMessageContaining(weights + " is a file, not a model folder")
                .hasMessageContaining("a folder holding config.json")
                .hasMessageContaining("Did you mean its folder " + folder.toAbsolutePath())
                .hasMessageNotContaining("does not exist");
        assertThatThrownBy(() -> resolver.resolve(loose.toString()))
                .hasMessageContaining(loose + " is a file, not a model folder")
                .hasMessageNotContaining("Did you mean");
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void aMissingRepositoryThatCouldHaveBeenAFolderSaysNeitherExists() {
        ModelResolver resolver = new ModelResolver(HubTestSupport.client(hub, cache), ModelRegistry.official());

        assertThatThrownBy(() -> resolver.resolve("models/gpt2x"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.REPO_NOT_FOUND))
                .hasMessageContaining("No repository 'models/gpt2x'")
                .hasMessageContaining("There is no folder 'models/gpt2x' in " + Path.of("").toAbsolutePath());
    }

    @Test
    void anExistingFolderWinsOverARepositoryIdSpeltTheSame() throws Exception {
        // A relative folder "target/<name>" is spelt as the repository id of org "target".
        String name = "target/hub-folder-wins-" + ProcessHandle.current().pid();
        Path folder = Files.createDirectories(Path.of(name));
        try {
            hub.addModel(name, Fixtures.model("gpt2-tok"));
            ModelResolver resolver = new ModelResolver(HubTestSupport.client(hub, cache), ModelRegistry.official());

            assertThat(resolver.repoId(name)).isEqualTo(name);
            assertThat(resolver.resolve(name)).isEqualTo(Path.of(name));
            assertThat(hub.requests()).isEmpty();
            assertThat(resolver.repoId("pythia-70m")).isEqualTo("EleutherAI/pythia-70m");
        } finally {
            Files.delete(folder);
        }
    }
}
