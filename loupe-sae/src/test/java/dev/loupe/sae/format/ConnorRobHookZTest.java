package dev.loupe.sae.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.loupe.CheckpointException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hook_z SAEs' own config file, as SAELens's connor_rob_hook_z loader reads it. */
class ConnorRobHookZTest {
    @Test
    void theConfigFileIsNamedAsSaeLensNamesIt() {
        assertThat(ConnorRobHookZ.configName("gpt2-small_L0_Hcat_z_lr1.20e-03_l11.80e+00_ds24576_bs4096_v9.pt"))
                .isEqualTo("gpt2-small_L0_Hcat_z_lr1.20e-03_l11.80e+00_ds24576_bs4096_v9_cfg.json");
    }

    @Test
    void aConfigWithoutItsWidthsOrAWeightsFileThatIsNotThereIsNamed(@TempDir Path dir) throws Exception {
        Path cfg = dir.resolve("sae_cfg.json");
        Files.writeString(cfg, "{\"act_name\": \"blocks.0.attn.hook_z\", \"dict_size\": 128}", StandardCharsets.UTF_8);
        try (NDManager manager = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> ConnorRobHookZ.convert(dir.resolve("sae.pt"), cfg, null, manager))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("sae_cfg.json")
                    .hasMessageContaining("\"act_size\" is missing");
            Files.writeString(cfg, "{\"act_name\": \"blocks.0.attn.hook_z\", \"dict_size\": 128, \"act_size\": 32}",
                    StandardCharsets.UTF_8);
            assertThatThrownBy(() -> ConnorRobHookZ.convert(dir.resolve("sae.pt"), cfg, null, manager))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("sae.pt");
        }
    }
}
