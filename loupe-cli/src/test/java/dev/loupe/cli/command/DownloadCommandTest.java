package dev.loupe.cli.command;

import static dev.loupe.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.cli.CliTestSupport;
import dev.loupe.hub.LoopbackHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe download} and {@code --model NAME} against a Hub served on loopback. The CLI reads
 * huggingface_hub's variables from system properties of the same name when they are set (a test
 * cannot change its own environment).
 */
class DownloadCommandTest {
    @TempDir
    Path temp;

    private LoopbackHub hub;
    private LoopbackHub.Repo repo;
    private final Map<String, String> saved = new HashMap<>();

    @BeforeEach
    void pointTheCliAtALoopbackHub() {
        hub = LoopbackHub.start();
        repo = hub.addModel("loupe-test/gpt2-tok", CliTestSupport.GPT2_TOK);
        hub.addModel("gpt2", CliTestSupport.GPT2_TOK);
        hub.addModel("loupe-test/gated", CliTestSupport.GPT2_TOK).gated("hf_secret");
        setProperty("HF_ENDPOINT", hub.endpoint());
        setProperty("HF_HOME", temp.resolve("huggingface").toString());
        setProperty("HF_HUB_CACHE", temp.resolve("huggingface/hub").toString());
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

    @Test
    void downloadPrintsTheSnapshotFolderItFilled() throws Exception {
        CliTestSupport.Result result = run("download", "loupe-test/gpt2-tok");

        Path snapshot = temp.resolve("huggingface/hub/models--loupe-test--gpt2-tok/snapshots/" + repo.commit());
        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).isEqualTo(snapshot.toAbsolutePath() + System.lineSeparator());
        assertThat(result.err()).isEmpty();
        assertThat(snapshot.resolve("model.safetensors"))
                .hasBinaryContent(Files.readAllBytes(CliTestSupport.GPT2_TOK.resolve("model.safetensors")));
        assertThat(snapshot.resolve("tokenizer.json")).isRegularFile();

        CliTestSupport.Result byCommit = run("download", "loupe-test/gpt2-tok", "--revision", repo.commit());
        assertThat(byCommit.out()).isEqualTo(result.out());
    }

    @Test
    void downloadTakesTransformerLensAliases() {
        CliTestSupport.Result result = run("download", "gpt2-small");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out().strip()).contains("models--gpt2" + java.io.File.separator + "snapshots");
    }

    @Test
    void modelEverywhereTakesANameAndGivesWhatTheFolderGives() {
        CliTestSupport.Result byName = run("hooks", "--model", "loupe-test/gpt2-tok", "--pos", "3");
        CliTestSupport.Result byFolder = run("hooks", "--model", CliTestSupport.GPT2_TOK.toString(), "--pos", "3");

        assertThat(byName.exitCode()).as(byName.err()).isZero();
        assertThat(byName.out()).isEqualTo(byFolder.out()).contains("blocks.1.attn.hook_pattern  [1, 4, 3, 3]");
    }

    @Test
    void failuresAreOneLineThatSaysWhatToDo() {
        run("download", "loupe-test/no-such-model")
                .failedWithOneLine("No repository 'loupe-test/no-such-model' on " + hub.endpoint() + " (HTTP 404)");
        run("download", "loupe-test/gated")
                .failedWithOneLine("Accept its licence at " + hub.endpoint() + "/loupe-test/gated");
        run("download", "gpt2-smal").failedWithOneLine("gpt2-small");
        run("download", "loupe-test/gpt2-tok", "--revision", "v9").failedWithOneLine("has no revision 'v9'");

        setProperty("HF_HUB_OFFLINE", "1");
        run("download", "loupe-test/gpt2-tok")
                .failedWithOneLine("config.json of loupe-test/gpt2-tok (revision 'main') is not in the Hugging Face"
                        + " cache");
        run("cache", "--model", "gpt2", "--prompt", "Hi", "--out", temp.resolve("out.safetensors").toString())
                .failedWithOneLine("offline mode is on (HF_HUB_OFFLINE)");
    }

    @Test
    void downloadHelpNamesTheEnvironmentItReads() {
        CliTestSupport.Result help = run("download", "--help");

        assertThat(help.out()).contains("--revision=R", "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_TOKEN", "snapshot");
    }

    private void setProperty(String name, String value) {
        saved.putIfAbsent(name, System.getProperty(name));
        System.setProperty(name, value);
    }
}
