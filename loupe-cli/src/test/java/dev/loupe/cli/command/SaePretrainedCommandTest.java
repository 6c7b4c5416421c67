package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.hub.LoopbackHub;
import dev.loupe.hub.RepoType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --sae RELEASE/ID} of {@code loupe sae run} and {@code loupe sae evals} against a Hub served on loopback
 * (the CLI reads huggingface_hub's variables from system properties of the same name). The release's folder holds
 * the gpt2 fixture SAE (d_in 32, where the release's SAEs have 768): the resolution and the files are checked,
 * and the outputs against SAELens's references.
 */
class SaePretrainedCommandTest {
    private static final String ENTRY = "gpt2/standard_resid_pre_l0";
    private static final Path FOLDER = Path.of("../testdata/sae").resolve(ENTRY);
    private static final String NAME = "gpt2-small-res-jb/blocks.0.hook_resid_pre";

    @TempDir
    Path tmp;

    private LoopbackHub hub;
    private final Map<String, String> saved = new HashMap<>();

    @BeforeEach
    void pointTheCliAtALoopbackHub() throws Exception {
        hub = LoopbackHub.start();
        hub.addRepo(RepoType.MODEL, "jbloom/GPT2-Small-SAEs-Reformatted", null)
                .file("blocks.0.hook_resid_pre/cfg.json", Files.readAllBytes(FOLDER.resolve("cfg.json")))
                .file("blocks.0.hook_resid_pre/sae_weights.safetensors",
                        Files.readAllBytes(FOLDER.resolve("sae_weights.safetensors")));
        setProperty("HF_ENDPOINT", hub.endpoint());
        setProperty("HF_HOME", tmp.resolve("huggingface").toString());
        setProperty("HF_HUB_CACHE", tmp.resolve("huggingface/hub").toString());
        setProperty("HF_HUB_OFFLINE", "0");
        setProperty("HF_TOKEN", "");
    }

    @AfterEach
    void restore() {
        saved.forEach((name, value) -> {
            if (value == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, value);
            }
        });
        hub.close();
    }

    private void setProperty(String name, String value) {
        saved.putIfAbsent(name, System.getProperty(name));
        System.setProperty(name, value);
    }

    @Test
    void aReleasedSaeByNameRunsAsSaeLensAndEvaluatesFromTheCacheAsItsFolder() throws Exception {
        Path in = SaeRunCommandTest.input(tmp, ENTRY);
        Path out = tmp.resolve("out.safetensors");
        CliTestSupport.Result result = run("sae", "run", "--model", CliTestSupport.GPT2.toString(), "--sae", NAME,
                "--input", in.toString(), "--out", out.toString());
        assertThat(result.exitCode()).as(result.err()).isZero();
        SaeRunCommandTest.check(ENTRY, out, "logits", "splice.logits");
        SaeRunCommandTest.check(ENTRY, out, "blocks.0.hook_resid_pre.hook_sae_acts_post",
                "splice.blocks.0.hook_resid_pre.hook_sae_acts_post");
        assertThat(tmp.resolve("huggingface/hub/models--jbloom--GPT2-Small-SAEs-Reformatted")).isDirectory();

        hub.close(); // from here on only the cache has the files
        Path byName = tmp.resolve("by-name.json");
        Path byFolder = tmp.resolve("by-folder.json");
        CliTestSupport.Result evals = run("sae", "evals", "--model", CliTestSupport.GPT2.toString(), "--sae", NAME,
                "--input", in.toString(), "--out", byName.toString());
        assertThat(evals.exitCode()).as(evals.err()).isZero();
        CliTestSupport.Result local = run("sae", "evals", "--model", CliTestSupport.GPT2.toString(), "--sae",
                FOLDER.toString(), "--input", in.toString(), "--out", byFolder.toString());
        assertThat(local.exitCode()).as(local.err()).isZero();
        assertThat(Files.readString(byName)).isEqualTo(Files.readString(byFolder));
    }

    @Test
    void releasesListsTheReleasesAndTheIdsOfOne() {
        CliTestSupport.Result all = run("sae", "releases");
        assertThat(all.exitCode()).as(all.err()).isZero();
        assertThat(all.out()).containsPattern("gpt2-small-res-jb +jbloom/GPT2-Small-SAEs-Reformatted +gpt2-small +sae_lens +13")
                .containsPattern("gemma-scope-2b-pt-att-canonical +google/gemma-scope-2b-pt-att +gemma-2-2b +gemma_2 +52");
        assertThat(all.out().lines()).hasSize(8);
        CliTestSupport.Result ids = run("sae", "releases", "gemma-scope-2b-pt-res-canonical");
        assertThat(ids.exitCode()).as(ids.err()).isZero();
        assertThat(ids.out()).containsPattern(
                "layer_0/width_16k/canonical +layer_0/width_16k/average_l0_105 +gemma-2-2b/0-gemmascope-res-16k");
        assertThat(ids.out().lines()).hasSize(59);
        run("sae", "releases", "gemma-scope-2b-pt-res").failedWithOneLine("closest: [gemma-scope-2b-pt-res-canonical");
    }

    @Test
    void anUnknownReleaseOrIdIsOneLineNamingTheClosest() {
        Path in = SaeRunCommandTest.input(tmp, ENTRY);
        String out = tmp.resolve("out.safetensors").toString();
        run("sae", "run", "--model", CliTestSupport.GPT2.toString(), "--sae", "gpt2-small-res-jbb/blocks.0.hook_resid_pre",
                "--input", in.toString(), "--out", out).failedWithOneLine("closest releases: [gpt2-small-res-jb");
        run("sae", "evals", "--model", CliTestSupport.GPT2.toString(), "--sae", "gpt2-small-res-jb/blocks.0.hook_resid_pree",
                "--input", in.toString(), "--out", out).failedWithOneLine("closest: [blocks.0.hook_resid_pre");
        assertThat(tmp.resolve("out.safetensors")).doesNotExist();
    }
}
