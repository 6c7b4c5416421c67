package dev.loupe.sae.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.model.HookedTransformer;
import dev.loupe.sae.Sae;
import dev.loupe.sae.format.SaeFiles;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.TreeSet;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A trained SAE saved by Loupe has the keys of the cfg.json SAELens's runner writes for a trained SAE (top level
 * and metadata, as the fixture runs' {@code cfg.json}), with the same values where the settings agree; it reads
 * back through {@link SaeFiles} with bitwise the same tensors, topk's decoder rows are unit-norm after folding,
 * and {@code sparsity.safetensors} holds [d_sae].
 */
class TrainedSaeFilesTest {
    private static SaeFixtures fixtures;
    private static HookedTransformer model;
    private static NDArray tokens;

    @BeforeAll
    static void load() {
        fixtures = new SaeFixtures();
        model = fixtures.model("gpt2/standard_resid_pre_l0");
        tokens = TrainingFixture.tokens(fixtures, "tokens");
    }

    @AfterAll
    static void close() {
        fixtures.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"standard", "topk"})
    void savedFilesHaveSaeLensTrainedKeysAndRoundTrip(String run, @TempDir Path dir) {
        SaeTrainingConfig cfg = TrainingFixture.config(run).trainingTokens(10 * 256L).build();
        try (TrainedSae trained = SaeTrainer.train(cfg, new ModelActivations(model, tokens, cfg.hookName(), cfg.dIn(),
                cfg.storeBatchSizePrompts(), fixtures.manager()), SaeTrainer.Checkpoints.NONE, null, fixtures.manager());
                NDManager manager = NDManager.newBaseManager()) {
            trained.save(dir);
            JsonNode ours = Fixtures.json(dir.resolve(SaeFiles.CFG));
            JsonNode saeLens = Fixtures.json(TrainingFixture.DIR.resolve(run).resolve(SaeFiles.CFG));
            assertThat(keys(ours)).isEqualTo(keys(saeLens));
            assertThat(keys(ours.get("metadata"))).isEqualTo(keys(saeLens.get("metadata")));
            saeLens.fieldNames().forEachRemaining(key -> {
                if (!key.equals("metadata")) {
                    assertThat(ours.get(key)).as(key).isEqualTo(saeLens.get(key));
                }
            });
            saeLens.get("metadata").fieldNames().forEachRemaining(key ->
                    assertThat(ours.get("metadata").get(key)).as("metadata." + key)
                            .isEqualTo(saeLens.get("metadata").get(key)));

            SaeFiles.Contents read = SaeFiles.read(dir, manager);
            assertThat(read.cfg()).isEqualTo(trained.sae().cfg());
            trained.sae().tensors().forEach((name, t) ->
                    assertThat(read.tensors().get(name).toFloatArray()).as(name).isEqualTo(t.toFloatArray()));
            if (run.equals("topk")) {
                for (float norm : read.tensors().get("W_dec").norm(new int[] {-1}).toFloatArray()) {
                    assertThat((double) norm).isCloseTo(1.0, Offset.offset(1e-5));
                }
            }
            try (Sae loaded = Sae.load(dir, manager);
                    SafetensorsFile sparsity = SafetensorsFile.open(dir.resolve(TrainedSae.SPARSITY))) {
                assertThat(loaded.cfg().dSae()).isEqualTo(128);
                assertThat(sparsity.load("sparsity", manager).getShape().getShape()).containsExactly(128);
            }
        }
    }

    private static TreeSet<String> keys(JsonNode node) {
        TreeSet<String> keys = new TreeSet<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            keys.add(it.next());
        }
        return keys;
    }
}
