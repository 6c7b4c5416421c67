package dev.loupe.hub;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The environment is read as huggingface_hub's constants.py reads it. */
class HubSettingsTest {
    private static final Path HOME = Path.of("/home/someone");

    @TempDir
    Path temp;

    @Test
    void defaultsAreTheHubAndTheUsersCache() {
        HubSettings settings = HubSettings.fromVariables(Map.of(), HOME);

        assertThat(settings.endpoint()).isEqualTo("https://huggingface.co");
        assertThat(settings.hubCache()).isEqualTo(Path.of("/home/someone/.cache/huggingface/hub"));
        assertThat(settings.offline()).isFalse();
        assertThat(settings.token()).isNull();
    }

    @Test
    void hfHubCacheWinsOverTheLegacyNameWhichWinsOverHfHomeWhichWinsOverXdg() {
        assertThat(HubSettings.fromVariables(Map.of("XDG_CACHE_HOME", "/x"), HOME).hubCache())
                .isEqualTo(Path.of("/x/huggingface/hub"));
        assertThat(HubSettings.fromVariables(Map.of("XDG_CACHE_HOME", "/x", "HF_HOME", "/h"), HOME).hubCache())
                .isEqualTo(Path.of("/h/hub"));
        assertThat(HubSettings.fromVariables(Map.of("HF_HOME", "/h", "HUGGINGFACE_HUB_CACHE", "/legacy"), HOME)
                .hubCache()).isEqualTo(Path.of("/legacy"));
        assertThat(HubSettings.fromVariables(Map.of("HUGGINGFACE_HUB_CACHE", "/legacy", "HF_HUB_CACHE", "/c"), HOME)
                .hubCache()).isEqualTo(Path.of("/c"));
        assertThat(HubSettings.fromVariables(Map.of("HF_HOME", "~/hf"), HOME).hubCache())
                .isEqualTo(Path.of("/home/someone/hf/hub"));
    }

    @Test
    void offlineIsOneOnYesOrTrueInAnyCaseFromEitherVariable() {
        for (String yes : new String[] {"1", "ON", "yes", "True"}) {
            assertThat(HubSettings.fromVariables(Map.of("HF_HUB_OFFLINE", yes), HOME).offline()).as(yes).isTrue();
        }
        for (String no : new String[] {"0", "false", "off", ""}) {
            assertThat(HubSettings.fromVariables(Map.of("HF_HUB_OFFLINE", no), HOME).offline()).as(no).isFalse();
        }
        assertThat(HubSettings.fromVariables(Map.of("TRANSFORMERS_OFFLINE", "1"), HOME).offline()).isTrue();
    }

    @Test
    void theEndpointLosesItsTrailingSlash() {
        assertThat(HubSettings.fromVariables(Map.of("HF_ENDPOINT", "https://hf-mirror.com/"), HOME).endpoint())
                .isEqualTo("https://hf-mirror.com");
    }

    @Test
    void hfTokenWinsOverTheTokenFileWhichIsReadFromHfHome() throws IOException {
        Path hfHome = Files.createDirectories(temp.resolve("hf"));
        Files.writeString(hfHome.resolve("token"), "hf_from_file\n");

        assertThat(HubSettings.fromVariables(Map.of("HF_HOME", hfHome.toString()), HOME).token())
                .isEqualTo("hf_from_file");
        assertThat(HubSettings.fromVariables(Map.of("HF_HOME", hfHome.toString(), "HF_TOKEN", "hf_env"), HOME)
                .token()).isEqualTo("hf_env");
        assertThat(HubSettings.fromVariables(Map.of("HF_HOME", hfHome.toString(), "HF_TOKEN", "hf_env"), HOME)
                .toString()).doesNotContain("hf_env").contains("token=set");
    }

    @Test
    void aSystemPropertyOfTheSameNameWinsOverTheEnvironment() {
        String before = System.getProperty("HF_ENDPOINT");
        System.setProperty("HF_ENDPOINT", "http://127.0.0.1:9");
        try {
            assertThat(HubSettings.fromEnvironment().endpoint()).isEqualTo("http://127.0.0.1:9");
        } finally {
            if (before == null) {
                System.clearProperty("HF_ENDPOINT");
            } else {
                System.setProperty("HF_ENDPOINT", before);
            }
        }
    }

    @Test
    void theProgressLineShowsBytesRateAndTimeLeft() {
        assertThat(DownloadProgress.TerminalBar.line("model.safetensors", 3_000_000, 6_000_000, 2_000_000, 2.0))
                .isEqualTo("model.safetensors  50% 3.0 MB/6.0 MB  1.0 MB/s  ETA 3s");
        assertThat(DownloadProgress.TerminalBar.duration(125)).isEqualTo("2m05s");
        assertThat(DownloadProgress.TerminalBar.bytes(999)).isEqualTo("999 B");
    }
}
