package dev.loupe.sae.pretrained;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import dev.loupe.hub.HubClient;
import dev.loupe.hub.HubException;
import dev.loupe.hub.HubSettings;
import dev.loupe.hub.LoopbackHub;
import dev.loupe.hub.RepoType;
import dev.loupe.io.torch.TorchCheckpointWriter;
import dev.loupe.sae.Sae;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.sae.format.SaeConfig;
import dev.loupe.sae.format.SaeFiles;
import dev.loupe.sae.testing.SaeFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Released SAEs by name, from each release's real repository layout served by a real HTTP server on loopback. The
 * files served are the SAELens fixtures of {@code testdata/sae}, so their widths are the tiny fixture models' (32),
 * not the released SAEs' (768, 2304, …): what is checked is the resolution of names to files and the formats.
 */
class PretrainedSaesTest {
    private static final String GEMMA_PATH = "layer_0/width_16k/average_l0_105";

    @TempDir
    Path temp;

    private HubClient client(LoopbackHub hub) {
        return new HubClient(HubSettings.fromVariables(
                Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HUB_CACHE", temp.resolve("hub").toString()), temp));
    }

    private static byte[] bytes(Path file) throws Exception {
        return Files.readAllBytes(file);
    }

    private static void assertSameTensors(Sae actual, Sae expected) {
        assertThat(actual.tensors().keySet()).containsExactlyElementsOf(expected.tensors().keySet());
        expected.tensors().forEach((name, tensor) -> {
            assertThat(actual.tensor(name).getShape()).as(name).isEqualTo(tensor.getShape());
            assertThat(actual.tensor(name).toFloatArray()).as(name + " bitwise").isEqualTo(tensor.toFloatArray());
        });
    }

    private static SaeConfig withMetadata(SaeConfig cfg, String key, JsonNode value) {
        ObjectNode metadata = cfg.metadata();
        metadata.set(key, value);
        return cfg.withMetadata(metadata);
    }

    private static JsonNode text(String value) {
        return JsonNodeFactory.instance.textNode(value);
    }

    @Test
    void aSaeLensFolderOfAReleaseLoadsByNameAsTheFolderAndAgainFromTheCacheWithTheServerStopped() throws Exception {
        // pythia-70m-deduped-res-sm keeps blocks.0.hook_resid_post in the folder 0-res-sm; a SAELens 6 cfg.json keeps its
        // metadata under "metadata", so the release's top-level overrides change nothing, as in SAELens.
        Path dir = SaeFixtures.saeDir("gpt2/standard_resid_post_l0_normrescale");
        try (NDManager manager = NDManager.newBaseManager(); Sae local = Sae.load(dir, manager)) {
            try (LoopbackHub hub = LoopbackHub.start()) {
                hub.addRepo(RepoType.MODEL, "ctigges/pythia-70m-deduped__res-sm_processed", null)
                        .file("0-res-sm/cfg.json", bytes(dir.resolve(SaeFiles.CFG)))
                        .file("0-res-sm/sae_weights.safetensors", bytes(dir.resolve(SaeFiles.WEIGHTS)));
                try (Sae remote = Sae.fromPretrained("pythia-70m-deduped-res-sm", "blocks.0.hook_resid_post", client(hub),
                        manager)) {
                    assertThat(remote.cfg()).isEqualTo(local.cfg());
                    assertSameTensors(remote, local);
                }
                assertThat(temp.resolve("hub/models--ctigges--pythia-70m-deduped__res-sm_processed/snapshots")).isDirectory();
                HubClient stoppedLater = client(hub);
                hub.close();
                try (Sae cached = Sae.fromPretrained("pythia-70m-deduped-res-sm", "blocks.0.hook_resid_post", stoppedLater,
                        manager)) {
                    assertThat(cached.cfg()).isEqualTo(local.cfg());
                    assertSameTensors(cached, local);
                }
            }
        }
    }

    @Test
    void aHubRepositoryIdNotInTheTableIsARepositoryOfSaeLensFolders() throws Exception {
        Path dir = SaeFixtures.saeDir("gpt2/topk_resid_post_l1");
        try (NDManager manager = NDManager.newBaseManager(); LoopbackHub hub = LoopbackHub.start();
             Sae local = Sae.load(dir, manager)) {
            hub.addRepo(RepoType.MODEL, "someone/my-saes", null)
                    .file("runs/l1/cfg.json", bytes(dir.resolve(SaeFiles.CFG)))
                    .file("runs/l1/sae_weights.safetensors", bytes(dir.resolve(SaeFiles.WEIGHTS)));
            try (Sae remote = Sae.fromPretrained("someone/my-saes", "runs/l1", client(hub), manager)) {
                assertThat(remote.cfg()).isEqualTo(local.cfg());
                assertSameTensors(remote, local);
            }
        }
    }

    @Test
    void aPre60ConfigOfGpt2SmallResJbGetsTheReleasesOverridesAsSaeLensGivesThem() throws Exception {
        // The release's cfg.json files predate SAELens 6: flat keys, hook_point, torch dtype names.
        Path fixture = SaeFixtures.saeDir("gpt2/standard_resid_pre_l0");
        String pre60 = "{\"model_name\": \"gpt2-small\", \"hook_point\": \"blocks.0.hook_resid_pre\", \"hook_point_layer\": 0,"
                + " \"hook_point_head_index\": null, \"dataset_path\": \"Skylion007/openwebtext\", \"is_dataset_tokenized\":"
                + " false, \"context_size\": 128, \"d_in\": 32, \"d_sae\": 128, \"device\": \"mps\", \"seed\": 42,"
                + " \"dtype\": \"torch.float32\", \"b_dec_init_method\": \"geometric_median\", \"expansion_factor\": 4,"
                + " \"l1_coefficient\": 8e-05, \"lr\": 0.0004}";
        Path local = Files.createDirectories(temp.resolve("pre60"));
        Files.writeString(local.resolve(SaeFiles.CFG), pre60, StandardCharsets.UTF_8);
        Files.copy(fixture.resolve(SaeFiles.WEIGHTS), local.resolve(SaeFiles.WEIGHTS));
        try (NDManager manager = NDManager.newBaseManager(); LoopbackHub hub = LoopbackHub.start();
             Sae folder = Sae.load(local, manager)) {
            hub.addRepo(RepoType.MODEL, "jbloom/GPT2-Small-SAEs-Reformatted", null)
                    .file("blocks.0.hook_resid_pre/cfg.json", pre60.getBytes(StandardCharsets.UTF_8))
                    .file("blocks.0.hook_resid_pre/sae_weights.safetensors", bytes(fixture.resolve(SaeFiles.WEIGHTS)));
            try (Sae remote = Sae.fromPretrained("gpt2-small-res-jb", "blocks.0.hook_resid_pre", client(hub), manager)) {
                ObjectNode kwargs = JsonNodeFactory.instance.objectNode().put("center_writing_weights", true);
                SaeConfig expected = withMetadata(withMetadata(folder.cfg(), "model_from_pretrained_kwargs", kwargs),
                        "neuronpedia_id", text("gpt2-small/0-res-jb"));
                expected = new SaeConfig(expected.dIn(), expected.dSae(), expected.dtype(), "cpu",
                        expected.applyBDecToInput(), expected.normalizeActivations(), expected.reshapeHookZ(),
                        expected.metadata(), expected.architecture(), expected.k(), expected.rescaleActsByDecoderNorm(),
                        expected.dOut());
                assertThat(folder.cfg().device()).isEqualTo("mps");
                assertThat(remote.cfg()).isEqualTo(expected);
                assertThat(remote.cfg().modelFromPretrainedKwargs()).isEqualTo(kwargs);
                assertThat(remote.hookName()).isEqualTo("blocks.0.hook_resid_pre");
                assertSameTensors(remote, folder);
            }
        }
    }

    @Test
    void aGemmaScopeCanonicalIdLoadsTheParamsNpzOfItsPathAsTheConversionDoes() throws Exception {
        Path entry = SaeFixtures.entry("gemma2/gemmascope_res_l0");
        // The fixture's widths are the tiny gemma2 model's, where the release's are 2304 → 16384.
        ObjectNode tiny = JsonNodeFactory.instance.objectNode().put("d_in", 32).put("d_sae", 192);
        try (NDManager manager = NDManager.newBaseManager(); Sae converted = Sae.load(entry.resolve("converted"), manager)) {
            SaeConfig expected = withMetadata(converted.cfg(), "neuronpedia_id", text("gemma-2-2b/0-gemmascope-res-16k"));
            try (LoopbackHub hub = LoopbackHub.start()) {
                hub.addRepo(RepoType.MODEL, "google/gemma-scope-2b-pt-res", null)
                        .file(GEMMA_PATH + "/params.npz", bytes(entry.resolve("params.npz")));
                try (Sae remote = Sae.fromPretrained("gemma-scope-2b-pt-res-canonical", "layer_0/width_16k/canonical",
                        client(hub), tiny, manager)) {
                    assertThat(remote.cfg()).isEqualTo(expected);
                    assertSameTensors(remote, converted);
                }
                HubClient stoppedLater = client(hub);
                hub.close();
                try (Sae cached = Sae.fromPretrained("gemma-scope-2b-pt-res-canonical", "layer_0/width_16k/canonical",
                        stoppedLater, tiny, manager)) {
                    assertSameTensors(cached, converted);
                }
                // Without the tiny model's widths the release's own (2304 → 16384) are expected, and the file is named.
                assertThatThrownBy(() -> Sae.fromPretrained("gemma-scope-2b-pt-res-canonical", "layer_0/width_16k/canonical",
                        stoppedLater, manager)).isInstanceOf(LoupeException.class)
                        .hasMessageContaining("params.npz").hasMessageContaining("2304");
            }
        }
    }

    @Test
    void aHookZKkStateDictLoadsWithTheConfigSaeLensDerivesFromItsCfgJson() throws Exception {
        // The fixture's standard SAE (d_in 32 = gpt2 fixture's 4 heads × 8) written as the release's .pt state dict.
        String path = SaeReleases.release("gpt2-small-hook-z-kk").sae("blocks.0.hook_z").path();
        Path pt = temp.resolve("sae.pt");
        String cfg = "{\"act_name\": \"blocks.0.attn.hook_z\", \"act_size\": 32, \"dict_size\": 128, \"l1_coeff\": 1.8,"
                + " \"layer\": 0, \"site\": \"z\", \"model_name\": \"gpt2-small\"}";
        try (NDManager manager = NDManager.newBaseManager(); LoopbackHub hub = LoopbackHub.start();
             Sae standard = Sae.load(SaeFixtures.saeDir("gpt2/standard_resid_pre_l0"), manager)) {
            TorchCheckpointWriter.write(pt, standard.tensors());
            hub.addRepo(RepoType.MODEL, "ckkissane/attn-saes-gpt2-small-all-layers", null)
                    .file(path, bytes(pt))
                    .file(path.substring(0, path.length() - ".pt".length()) + "_cfg.json", cfg.getBytes(StandardCharsets.UTF_8));
            try (Sae remote = Sae.fromPretrained("gpt2-small-hook-z-kk", "blocks.0.hook_z", client(hub), manager)) {
                assertSameTensors(remote, standard);
                SaeConfig got = remote.cfg();
                assertThat(got.architecture()).isEqualTo(SaeArchitecture.STANDARD);
                assertThat(got.reshapeHookZ()).isTrue();
                assertThat(got.applyBDecToInput()).isTrue();
                assertThat(got.dIn()).isEqualTo(32);
                assertThat(got.dSae()).isEqualTo(128);
                assertThat(got.hookName()).isEqualTo("blocks.0.attn.hook_z");
                assertThat(got.metadata().get("model_name").asText()).isEqualTo("gpt2-small");
                assertThat(got.metadata().get("neuronpedia_id").asText()).isEqualTo("gpt2-small/0-att-kk");
                assertThat(got.metadata().get("context_size").asInt()).isEqualTo(128);
                assertThat(got.metadata().get("dataset_path").asText()).isEqualTo("Skylion007/openwebtext");
            }
        }
    }

    @Test
    void unknownReleasesAndIdsFailNamingTheClosestOnes() {
        try (NDManager manager = NDManager.newBaseManager()) {
            HubClient offline = new HubClient(HubSettings.fromVariables(
                    Map.of("HF_HUB_OFFLINE", "1", "HF_HUB_CACHE", temp.resolve("hub").toString()), temp));
            assertThatThrownBy(() -> Sae.fromPretrained("gpt2-small-res-jbb", "blocks.0.hook_resid_pre", offline, manager))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("Unknown SAE release 'gpt2-small-res-jbb'")
                    .hasMessageContaining("closest: [gpt2-small-res-jb");
            assertThatThrownBy(() -> Sae.fromPretrained("gemma-scope-2b-pt-res", "layer_0/width_16k/average_l0_105", offline,
                    manager)).hasMessageContaining("gemma-scope-2b-pt-res-canonical");
            assertThatThrownBy(() -> Sae.fromPretrained("gpt2-small-res-jb", "blocks.0.hook_resid_pr", offline, manager))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("gpt2-small-res-jb has no id 'blocks.0.hook_resid_pr'")
                    .hasMessageContaining("closest: [blocks.0.hook_resid_pre");
            // An org/name not in the table is a Hub repository of SAELens folders, as in SAELens; offline it must be cached.
            assertThatThrownBy(() -> Sae.fromPretrained("someone/my-saes", "layer_3", offline, manager))
                    .isInstanceOf(HubException.class)
                    .hasMessageContaining("the Hub repository someone/my-saes")
                    .hasMessageContaining("layer_3/cfg.json");
        }
    }

    @Test
    void theTableHasSaeLensReleasesWithTheirCanonicalPaths() {
        assertThat(Sae.pretrainedReleases()).extracting(SaeRelease::name).containsExactly("gpt2-small-res-jb",
                "gpt2-small-hook-z-kk", "gemma-scope-2b-pt-res-canonical", "gemma-scope-2b-pt-mlp-canonical",
                "gemma-scope-2b-pt-att-canonical", "gemma-scope-9b-pt-res-canonical", "pythia-70m-deduped-res-sm");
        SaeRelease res = SaeReleases.release("gemma-scope-2b-pt-res-canonical");
        assertThat(res.repoId()).isEqualTo("google/gemma-scope-2b-pt-res");
        assertThat(res.format()).isEqualTo(ReleaseFormat.GEMMA_2);
        assertThat(res.sae("layer_0/width_16k/canonical").path()).isEqualTo(GEMMA_PATH);
        assertThat(SaeReleases.release("gemma-scope-2b-pt-att-canonical").sae("layer_0/width_16k/canonical").path())
                .isEqualTo("layer_0/width_16k/average_l0_104");
        assertThat(SaeReleases.release("gemma-scope-2b-pt-mlp-canonical").sae("layer_0/width_16k/canonical").path())
                .isEqualTo("layer_0/width_16k/average_l0_119");
        assertThat(SaeReleases.release("gemma-scope-9b-pt-res-canonical").sae("layer_0/width_16k/canonical").path())
                .isEqualTo("layer_0/width_16k/average_l0_129");
        assertThat(SaeReleases.release("gpt2-small-res-jb").saes()).hasSize(13);
        assertThat(SaeReleases.release("gpt2-small-res-jb").configOverrides().toString())
                .isEqualTo("{\"model_from_pretrained_kwargs\":{\"center_writing_weights\":true}}");
        assertThat(SaeReleases.release("pythia-70m-deduped-res-sm").sae("blocks.0.hook_resid_pre").path()).isEqualTo("e-res-sm");
    }
}
