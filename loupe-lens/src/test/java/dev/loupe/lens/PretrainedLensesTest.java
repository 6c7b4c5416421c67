package dev.loupe.lens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.LoupeException;
import dev.loupe.hub.HubClient;
import dev.loupe.hub.HubSettings;
import dev.loupe.hub.LoopbackHub;
import dev.loupe.hub.RepoType;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pretrained lenses from the tuned-lens library's Hub space layout, served by a real HTTP server on loopback. */
class PretrainedLensesTest {
    @TempDir
    Path temp;

    @Test
    void aLensOfTheSpaceLoadsByTheModelsNameAndEqualsTheLocalFolder() throws Exception {
        Path lensDir = Fixtures.ROOT.resolve("lens");
        try (LoopbackHub hub = LoopbackHub.start();
             HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"))) {
            hub.addRepo(RepoType.SPACE, PretrainedLenses.DEFAULT_REPO_ID, null)
                    .file("lens/gpt2-tok/config.json", Files.readAllBytes(lensDir.resolve("config.json")))
                    .file("lens/gpt2-tok/params.pt", Files.readAllBytes(lensDir.resolve("params.pt")));
            HubClient client = new HubClient(HubSettings.fromVariables(
                    Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HUB_CACHE", temp.resolve("hub").toString()), temp));
            assertThat(PretrainedLenses.resourceId(model.config().modelName())).isEqualTo("gpt2-tok");
            try (TunedLens remote = TunedLens.fromPretrained("gpt2-tok", model, client);
                 TunedLens local = TunedLens.load(lensDir, model)) {
                for (int layer = 0; layer < 2; layer++) {
                    assertThat(remote.weight(layer).toFloatArray()).containsExactly(local.weight(layer).toFloatArray());
                    assertThat(remote.bias(layer).toFloatArray()).containsExactly(local.bias(layer).toFloatArray());
                }
            }
            assertThat(temp.resolve("hub/spaces--AlignmentResearch--tuned-lens/snapshots")).isDirectory();
            assertThat(PretrainedLenses.folder(lensDir.toString(), client)).isEqualTo(lensDir);
            assertThatThrownBy(() -> TunedLens.fromPretrained("no-such-model", model, client))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("No pretrained tuned lens for 'no-such-model'")
                    .hasMessageContaining("lens/no-such-model/config.json");
        }
    }

    @Test
    void transformerLensNamesMapToTheirHubIds() {
        assertThat(PretrainedLenses.resourceId("pythia-160m-deduped")).isEqualTo("EleutherAI/pythia-160m-deduped");
        assertThat(PretrainedLenses.resourceId("gpt2-small")).isEqualTo("gpt2");
    }
}
