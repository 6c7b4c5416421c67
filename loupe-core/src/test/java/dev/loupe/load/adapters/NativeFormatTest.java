package dev.loupe.load.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.CheckpointException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.ModelLoader;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.RandomModels;
import dev.loupe.testing.TensorAssert;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Native folders (TransformerLens config + TransformerLens names) load with the usual calls. */
class NativeFormatTest {
    private static final long[][] TOKENS = {{0, 5, 9, 3, 5, 9, 3, 1}, {2, 2, 7, 30, 11, 4, 0, 39}};

    @TempDir
    Path dir;

    @Test
    void anAttentionOnlyModelRoundTripsExactly() {
        assertRoundTrip(RandomModels.layerNormConfig().toBuilder().attnOnly(true).modelName("toy").build());
    }

    @Test
    void aModelWithMlpsAndRmsNormRoundTripsExactly() {
        assertRoundTrip(RandomModels.rmsNormConfig().toBuilder().modelName("llama-like").build());
    }

    @Test
    void aGemmaLikeModelWithPostNormsSoftCapsAndQkNormsRoundTripsExactly() {
        assertRoundTrip(RandomModels.gemmaLikeConfig().toBuilder().modelName("gemma-like").build());
    }

    @Test
    void anOlmoLikeModelWithOnlyPostNormsRoundTripsExactly() {
        assertRoundTrip(RandomModels.olmoLikeConfig().toBuilder().modelName("olmo-like").build());
    }

    @Test
    void theNewConfigFieldsAreWrittenUnderTransformerLensNamesOrLoupesOwn() throws IOException {
        TransformerConfig cfg = RandomModels.gemmaLikeConfig();
        try (NDManager manager = NDManager.newBaseManager()) {
            NativeModelWriter.write(dir, cfg, RandomModels.stateDict(cfg, manager), Map.of());
        }
        assertThat(Files.readString(dir.resolve("config.json"))).contains("\"attn_scores_soft_cap\" : 3.0",
                "\"output_logits_soft_cap\" : 2.5", "\"rotary_base_local\" : 100.0", "\"use_qk_norm\" : true",
                "\"use_normalization_before_and_after\" : true", "\"use_normalization_after_only\" : false",
                "\"qk_norm_across_heads\" : false", "\"attn_types\" : [ \"local\", \"global\", \"local\" ]");
    }

    @Test
    void mixturesOfExpertsRoundTripExactly() {
        assertRoundTrip(RandomModels.mixtureOfExpertsConfig().toBuilder().modelName("mixtral-like").build());
        // A LayerNorm mixture too: processing centres every expert's output weights.
        assertRoundTrip(RandomModels.layerNormConfig().toBuilder().gatedMlp(true).numExperts(3).expertsPerToken(2)
                .modelName("moe-ln").build());
    }

    private void assertRoundTrip(TransformerConfig cfg) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(TOKENS);
            Map<String, NDArray> stateDict = RandomModels.stateDict(cfg, manager);
            HookedTransformer original = new HookedTransformer(cfg, stateDict, manager.newSubManager());
            NativeModelWriter.write(dir, cfg, stateDict, Map.of("note", "test"));

            assertThat(ModelLoader.config(dir)).isEqualTo(cfg);
            try (HookedTransformer loaded = HookedTransformer.fromPretrainedNoProcessing(dir)) {
                assertThat(loaded.config()).isEqualTo(cfg);
                TensorAssert.assertClose("logits", loaded.forward(tokens), original.forward(tokens), 0);
            }
            // With TransformerLens's processing the logits are centred, so compare log-probabilities.
            try (HookedTransformer processed = HookedTransformer.fromPretrained(dir)) {
                TensorAssert.assertClose("log-probs", processed.forward(tokens).logSoftmax(-1),
                        original.forward(tokens).logSoftmax(-1), 1e-4);
            }
        }
    }

    @Test
    void theModelNameIsTheFolderUnlessTheConfigNamesIt() throws IOException {
        TransformerConfig unnamed = RandomModels.layerNormConfig().toBuilder().attnOnly(true).build();
        try (NDManager manager = NDManager.newBaseManager()) {
            NativeModelWriter.write(dir.resolve("my-toy"), unnamed, RandomModels.stateDict(unnamed, manager), Map.of());
        }
        assertThat(ModelLoader.config(dir.resolve("my-toy")).modelName()).isEqualTo("my-toy");
        assertThat(Files.readString(dir.resolve("my-toy/config.json"))).contains("\"attn_only\" : true")
                .contains("\"n_layers\" : 2").doesNotContain("model_type");
    }

    @Test
    void aMissingParameterIsNamed() {
        TransformerConfig cfg = RandomModels.layerNormConfig().toBuilder().attnOnly(true).build();
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> stateDict = new LinkedHashMap<>(RandomModels.stateDict(cfg, manager));
            assertThatThrownBy(() -> NativeModelWriter.write(dir, cfg, Map.of(), Map.of()))
                    .hasMessageContaining("embed.W_E");
            NativeModelWriter.write(dir, cfg, stateDict, Map.of());
            TransformerConfig bigger = cfg.toBuilder().nLayers(3).build();
            NativeModelWriter.write(dir.resolve("other"), cfg, stateDict, Map.of());
            writeConfigOnly(dir.resolve("other"), bigger);
        }
        assertThatThrownBy(() -> HookedTransformer.fromPretrainedNoProcessing(dir.resolve("other")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("blocks.2.attn.W_Q")
                .hasMessageContaining("lacks");
    }

    private static void writeConfigOnly(Path folder, TransformerConfig cfg) {
        try {
            Files.writeString(folder.resolve("config.json"), cfg.toJson());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
