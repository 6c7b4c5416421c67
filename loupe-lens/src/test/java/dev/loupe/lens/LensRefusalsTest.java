package dev.loupe.lens;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.config.WeightProcessingStep;
import dev.loupe.model.HookedTransformer;
import dev.loupe.process.ProcessOptions;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.RandomModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A lens used where it does not fit fails with a message that names the mismatch and the fix. */
class LensRefusalsTest {
    @TempDir
    Path dir;

    @Test
    void aPythonLensOnAProcessedModelIsRefused() {
        try (HookedTransformer processed = HookedTransformer.fromPretrained(LensFixtures.BASE_MODEL)) {
            assertThatThrownBy(() -> TunedLens.load(LensFixtures.LENS, processed))
                    .isInstanceOf(LensMismatchException.class)
                    .hasMessageContaining("unprocessed (Hugging Face's weights)")
                    .hasMessageContaining("Python tuned-lens library")
                    .hasMessageContaining("processed (fold_ln, center_writing_weights, center_unembed, fold_value_biases)")
                    .hasMessageContaining("fromPretrainedNoProcessing");
        }
        // Even one step that only shifts the logits changes the basis.
        try (HookedTransformer raw = HookedTransformer.fromPretrainedNoProcessing(LensFixtures.BASE_MODEL);
             HookedTransformer centred = raw.processWeights(ProcessOptions.none().withCenterUnembed(true))) {
            assertThatThrownBy(() -> TunedLens.load(LensFixtures.LENS, centred))
                    .isInstanceOf(LensMismatchException.class).hasMessageContaining("processed (center_unembed)");
        }
    }

    @Test
    void aLensTrainedOnAProcessedModelIsRefusedOnTheUnprocessedOne() {
        try (HookedTransformer processed = HookedTransformer.fromPretrained(Fixtures.model("gpt2"));
             TunedLens lens = TunedLens.create(processed)) {
            lens.save(dir);
        }
        try (HookedTransformer raw = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"))) {
            assertThatThrownBy(() -> TunedLens.load(dir, raw)).isInstanceOf(LensMismatchException.class)
                    .hasMessageContaining("trained on a residual stream that is processed (fold_ln")
                    .hasMessageContaining("but the model 'gpt2' is unprocessed")
                    .hasMessageContaining("Load the model with the same processing");
        }
        try (HookedTransformer processedAgain = HookedTransformer.fromPretrained(Fixtures.model("gpt2"));
             TunedLens back = TunedLens.load(dir, processedAgain)) {
            org.assertj.core.api.Assertions.assertThat(back.config().basis().weightProcessing())
                    .contains(WeightProcessingStep.FOLD_LN);
        }
    }

    @Test
    void aLensForAnotherWidthIsRefused() {
        try (HookedTransformer neox = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt_neox"))) {
            assertThatThrownBy(() -> TunedLens.load(LensFixtures.LENS, neox)).isInstanceOf(LensMismatchException.class)
                    .hasMessageContaining("d_model 32 but the model 'gpt_neox' has d_model 64")
                    .hasMessageContaining("'models/gpt2-tok'");
        }
    }

    @Test
    void aLensForAnotherLayerCountIsRefused() {
        TransformerConfig twoLayers = RandomModels.layerNormConfig();
        TransformerConfig threeLayers = twoLayers.toBuilder().nLayers(3).modelName("three").build();
        try (HookedTransformer two = randomModel(twoLayers); TunedLens lens = TunedLens.create(two)) {
            lens.save(dir);
        }
        try (HookedTransformer three = randomModel(threeLayers)) {
            assertThatThrownBy(() -> TunedLens.load(dir, three)).isInstanceOf(LensMismatchException.class)
                    .hasMessageContaining("has 2 translators but the model 'three' has 3 layers");
        }
    }

    @Test
    void aLensForAnotherUnembeddingIsRefusedByItsFingerprint() {
        try (HookedTransformer gpt2 = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
             TunedLens lens = TunedLens.create(gpt2)) {
            lens.save(dir);
        }
        // OPT has the same width and depth, so only the fingerprint tells them apart.
        try (HookedTransformer opt = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("opt"))) {
            assertThatThrownBy(() -> TunedLens.load(dir, opt)).isInstanceOf(LensMismatchException.class)
                    .hasMessageContaining("another unembedding").hasMessageContaining("unembed_fingerprint")
                    .hasMessageContaining("'gpt2'");
        }
    }

    @Test
    void brokenFoldersAndStateDictsAreRefusedClearly() throws IOException {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(LensFixtures.BASE_MODEL)) {
            assertThatThrownBy(() -> TunedLens.load(dir.resolve("missing"), model)).isInstanceOf(LoupeException.class)
                    .hasMessageContaining("does not exist");
            Files.copy(LensFixtures.LENS.resolve("config.json"), dir.resolve("config.json"));
            assertThatThrownBy(() -> TunedLens.load(dir, model)).isInstanceOf(LoupeException.class)
                    .hasMessageContaining("no params.pt or params.safetensors");
            ObjectNode config = (ObjectNode) new ObjectMapper().readTree(dir.resolve("config.json").toFile());
            config.put("lens_type", "something_else");
            Files.writeString(dir.resolve("config.json"), config.toString());
            assertThatThrownBy(() -> TunedLens.load(dir, model)).hasMessageContaining("Unsupported lens_type");
            try (NDManager manager = NDManager.newBaseManager()) {
                TunedLensConfig fixture = TunedLensConfig.fromJson(
                        Files.readString(LensFixtures.LENS.resolve("config.json")), "config.json");
                Map<String, NDArray> missingBias = Map.of("0.weight", manager.zeros(new ai.djl.ndarray.types.Shape(32, 32)));
                assertThatThrownBy(() -> TunedLens.of(fixture, missingBias, model, "test"))
                        .hasMessageContaining("has no tensor '0.bias'");
            }
        }
    }

    private static HookedTransformer randomModel(TransformerConfig config) {
        NDManager weights = NDManager.newBaseManager();
        return new HookedTransformer(config, RandomModels.stateDict(config, weights), weights);
    }
}
