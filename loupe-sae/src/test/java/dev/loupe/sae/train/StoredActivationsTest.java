package dev.loupe.sae.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import dev.loupe.CheckpointException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.sae.testing.SaeFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Activations harvested once into an {@link ActivationStore} (uneven shards of 300 of 2048 tokens) train an
 * SAE bitwise as the model's own activations do; a broken store is refused by name.
 */
class StoredActivationsTest {
    private static SaeFixtures fixtures;
    private static HookedTransformer model;
    private static NDArray tokens;

    @BeforeAll
    static void load() {
        fixtures = new SaeFixtures();
        model = fixtures.model("gpt2/standard_resid_pre_l0");
        tokens = TrainingFixture.tokens(fixtures, "tokens").get("0:64"); // 2048 activations
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    private static ModelActivations harvest() {
        return new ModelActivations(model, tokens, TrainingFixture.HOOK, 32, 4, fixtures.manager());
    }

    @Test
    void trainingOnTheStoreEqualsTrainingOnTheModel(@TempDir Path dir) {
        ActivationStore.Manifest manifest = ActivationStore.write(dir, harvest(), TrainingFixture.HOOK, 64 * 32, 300);
        assertThat(manifest.shards()).hasSize(7);
        assertThat(ActivationStore.read(dir)).isEqualTo(manifest);
        // 40 steps of 128 pass the store's end twice: both sources start again at their first sequence.
        SaeTrainingConfig cfg = SaeTrainingConfig.builder(SaeArchitecture.TOPK, TrainingFixture.HOOK, 32, 64).k(4)
                .trainingTokens(40 * 128L).trainBatchSizeTokens(128).contextSize(32).storeBatchSizePrompts(4)
                .nBatchesInBuffer(4).lr(1e-3).build();
        try (StoredActivations stored = new StoredActivations(dir, 128, fixtures.manager());
                TrainedSae fromModel = SaeTrainer.train(cfg, harvest(), SaeTrainer.Checkpoints.NONE, null,
                        fixtures.manager());
                TrainedSae fromStore = SaeTrainer.train(cfg, stored, SaeTrainer.Checkpoints.NONE, null,
                        fixtures.manager())) {
            assertThat(fromStore.curve()).isEqualTo(fromModel.curve());
            fromModel.sae().tensors().forEach((name, t) ->
                    assertThat(fromStore.sae().tensor(name).toFloatArray()).as(name).isEqualTo(t.toFloatArray()));
        }
    }

    @Test
    void aBrokenStoreIsRefusedByName(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> new StoredActivations(dir, 128, fixtures.manager()))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("manifest.json is missing");
        Files.writeString(dir.resolve(ActivationStore.MANIFEST), "{\"format\": \"loupe-activations\", \"dtype\":"
                + " \"float32\", \"d_in\": 32, \"shards\": [{\"file\": \"../x.safetensors\", \"tokens\": 5}]}");
        assertThatThrownBy(() -> new StoredActivations(dir, 128, fixtures.manager()))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("a shard needs a file inside the folder");
    }
}
