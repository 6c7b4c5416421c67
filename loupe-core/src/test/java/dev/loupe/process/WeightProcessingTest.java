package dev.loupe.process;

import static dev.loupe.config.WeightProcessingStep.CENTER_UNEMBED;
import static dev.loupe.config.WeightProcessingStep.CENTER_WRITING_WEIGHTS;
import static dev.loupe.config.WeightProcessingStep.FOLD_LN;
import static dev.loupe.config.WeightProcessingStep.FOLD_VALUE_BIASES;
import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.PositionalEmbeddingType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.RandomModels;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each processing step alone, on random models: predictions unchanged, inputs untouched. */
class WeightProcessingTest {
    private static final double ATOL = 1e-4;

    @BeforeEach
    void seed() {
        Engine.getInstance().setRandomSeed(7);
    }

    /** Logits of a model built (in its own manager) from copies of {@code sd}. */
    private static float[] logits(TransformerConfig cfg, Map<String, NDArray> sd, NDArray tokens) {
        NDManager weights = NDManager.newBaseManager();
        Map<String, NDArray> copies = new LinkedHashMap<>();
        sd.forEach((k, v) -> {
            NDArray copy = weights.create(v.toFloatArray(), v.getShape());
            copies.put(k, copy);
        });
        try (HookedTransformer model = new HookedTransformer(cfg, copies, weights)) {
            return model.forward(tokens).toFloatArray();
        }
    }

    private static NDArray tokens(NDManager manager, TransformerConfig cfg) {
        return manager.randomInteger(0, cfg.dVocab(), new Shape(2, 9), DataType.INT64);
    }

    private static void assertSamePredictions(TransformerConfig before, Map<String, NDArray> original,
            ProcessedWeights after, NDManager manager, boolean upToAConstant) {
        NDArray tokens = tokens(manager, before);
        NDArray expected = manager.create(logits(before, original, tokens), new Shape(2, 9, before.dVocabOut()));
        NDArray actual = manager.create(logits(after.config(), after.stateDict(), tokens), new Shape(2, 9, before.dVocabOut()));
        if (upToAConstant) {
            assertClose("log-probs", actual.logSoftmax(-1), expected.logSoftmax(-1), ATOL);
        } else {
            assertClose("logits", actual, expected, ATOL);
        }
    }

    /** Runs {@code step} and checks that it left its input's tensors as they were. */
    private static ProcessedWeights pure(Map<String, NDArray> sd, Function<Map<String, NDArray>, ProcessedWeights> step) {
        Map<String, float[]> before = new LinkedHashMap<>();
        sd.forEach((k, v) -> before.put(k, v.toFloatArray()));
        ProcessedWeights result = step.apply(sd);
        sd.forEach((k, v) -> assertThat(v.toFloatArray()).as("input " + k + " untouched").containsExactly(before.get(k)));
        return result;
    }

    @Test
    void foldingLayerNormKeepsTheLogitsAndRemovesTheNormParameters() {
        try (NDManager manager = NDManager.newBaseManager()) {
            TransformerConfig cfg = RandomModels.layerNormConfig();
            Map<String, NDArray> sd = RandomModels.stateDict(cfg, manager);
            ProcessedWeights folded = pure(sd, s -> WeightProcessing.foldLayerNorm(new ProcessedWeights(s, cfg), true, true));
            assertThat(folded.config().normalizationType()).isEqualTo(NormalizationType.LN_PRE);
            assertThat(folded.stateDict()).doesNotContainKeys("blocks.0.ln1.w", "blocks.0.ln1.b", "ln_final.w", "ln_final.b");
            NDArray wQ = folded.stateDict().get("blocks.0.attn.W_Q");
            assertThat(wQ.mean(new int[] {1}).abs().max().getFloat()).as("W_Q centred over d_model").isLessThan(1e-6f);
            assertSamePredictions(cfg, sd, folded, manager, false);
        }
    }

    @Test
    void foldingRmsNormScalesWithoutCentring() {
        try (NDManager manager = NDManager.newBaseManager()) {
            TransformerConfig cfg = RandomModels.rmsNormConfig();
            Map<String, NDArray> sd = RandomModels.stateDict(cfg, manager);
            ProcessedWeights folded = pure(sd, s -> WeightProcessing.foldLayerNorm(new ProcessedWeights(s, cfg), false, false));
            assertThat(folded.config().normalizationType()).isEqualTo(NormalizationType.RMS_PRE);
            assertThat(folded.stateDict()).containsKeys("blocks.1.attn._W_K", "blocks.1.mlp.W_gate");
            assertSamePredictions(cfg, sd, folded, manager, false);
        }
    }

    @Test
    void centringWritingWeightsChangesNothingALayerNormCanSee() {
        try (NDManager manager = NDManager.newBaseManager()) {
            TransformerConfig cfg = RandomModels.layerNormConfig();
            Map<String, NDArray> sd = RandomModels.stateDict(cfg, manager);
            ProcessedWeights centred = pure(sd, s -> new ProcessedWeights(WeightProcessing.centerWritingWeights(s, cfg), cfg));
            for (String name : new String[] {"embed.W_E", "pos_embed.W_pos", "blocks.1.attn.W_O", "blocks.1.attn.b_O",
                "blocks.0.mlp.W_out", "blocks.0.mlp.b_out"}) {
                assertThat(centred.stateDict().get(name).mean(new int[] {-1}).abs().max().getFloat()).as(name).isLessThan(1e-6f);
            }
            assertSamePredictions(cfg, sd, centred, manager, false);
        }
    }

    @Test
    void aMixtureOfExpertsKeepsItsNormsAndItsPredictions() {
        try (NDManager manager = NDManager.newBaseManager()) {
            for (TransformerConfig cfg : new TransformerConfig[] {RandomModels.mixtureOfExpertsConfig(),
                RandomModels.layerNormConfig().toBuilder().gatedMlp(true).numExperts(3).expertsPerToken(2).build()}) {
                Map<String, NDArray> sd = RandomModels.stateDict(cfg, manager);
                ProcessedWeights processed = pure(sd, s -> WeightProcessing.process(new ProcessedWeights(s, cfg),
                        ProcessOptions.defaults()));
                assertThat(processed.config().normalizationType()).isEqualTo(cfg.normalizationType());
                assertThat(processed.config().weightProcessing()).doesNotContain(FOLD_LN).contains(CENTER_UNEMBED);
                assertThat(processed.stateDict()).containsKeys("blocks.0.ln1.w", "blocks.1.ln2.w", "ln_final.w");
                assertThat(processed.stateDict().get("blocks.1.ln2.w").toFloatArray())
                        .containsExactly(sd.get("blocks.1.ln2.w").toFloatArray());
                if (cfg.normalizationType().isLayerNorm()) {
                    NDArray wOut = processed.stateDict().get("blocks.1.mlp.experts.2.W_out.weight"); // [d_model, d_mlp]
                    assertThat(wOut.mean(new int[] {0}).abs().max().getFloat()).as("expert W_out centred").isLessThan(1e-6f);
                }
                assertSamePredictions(cfg, sd, processed, manager, true);
            }
        }
    }

    @Test
    void centringTheUnembeddingKeepsTheLogProbs() {
        try (NDManager manager = NDManager.newBaseManager()) {
            TransformerConfig cfg = RandomModels.rmsNormConfig();
            Map<String, NDArray> sd = RandomModels.stateDict(cfg, manager);
            ProcessedWeights centred = pure(sd, s -> new ProcessedWeights(WeightProcessing.centerUnembed(s), cfg));
            assertThat(centred.stateDict().get("unembed.W_U").mean(new int[] {-1}).abs().max().getFloat()).isLessThan(1e-6f);
            assertSamePredictions(cfg, sd, centred, manager, true);
        }
    }

    @Test
    void foldingValueBiasesMovesThemIntoTheOutputBias() {
        for (TransformerConfig cfg : new TransformerConfig[] {RandomModels.layerNormConfig(), RandomModels.rmsNormConfig()}) {
            try (NDManager manager = NDManager.newBaseManager()) {
                Map<String, NDArray> sd = RandomModels.stateDict(cfg, manager);
                ProcessedWeights folded = pure(sd, s -> new ProcessedWeights(WeightProcessing.foldValueBiases(s, cfg), cfg));
                String bV = cfg.groupedQueryAttention() ? "blocks.0.attn._b_V" : "blocks.0.attn.b_V";
                assertThat(folded.stateDict().get(bV).abs().sum().getFloat()).isZero();
                assertSamePredictions(cfg, sd, folded, manager, false);
            }
        }
    }

    @Test
    void allStepsTogetherOnAFixtureAndOnALoadedModel() {
        try (HookedTransformer raw = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt_neox"));
             HookedTransformer processed = raw.processWeights(ProcessOptions.defaults());
             HookedTransformer loaded = HookedTransformer.fromPretrained(Fixtures.model("gpt_neox"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model("gpt_neox").resolve("reference.safetensors"), manager)
                    .get("input_ids");
            assertClose("processWeights = fromPretrained", processed.forward(tokens), loaded.forward(tokens), 1e-5);
            assertClose("log-probs unchanged", processed.forward(tokens).logSoftmax(-1),
                    raw.forward(tokens).logSoftmax(-1), ATOL);
            assertThat(raw.config().normalizationType()).isEqualTo(NormalizationType.LN);
            assertThat(processed.config().normalizationType()).isEqualTo(NormalizationType.LN_PRE);
        }
    }

    @Test
    void theConfigRecordsWhichStepsChangedTheWeights() {
        try (HookedTransformer raw = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
             HookedTransformer processed = raw.processWeights(ProcessOptions.defaults());
             HookedTransformer unembedOnly = raw.processWeights(ProcessOptions.none().withCenterUnembed(true));
             HookedTransformer nothing = raw.processWeights(ProcessOptions.none());
             HookedTransformer rms = HookedTransformer.fromPretrained(Fixtures.model("llama"))) {
            assertThat(raw.config().weightProcessing()).isEmpty();
            assertThat(raw.config().weightsProcessed()).isFalse();
            assertThat(processed.config().weightProcessing())
                    .containsExactly(FOLD_LN, CENTER_WRITING_WEIGHTS, CENTER_UNEMBED, FOLD_VALUE_BIASES);
            assertThat(unembedOnly.config().weightProcessing()).containsExactly(CENTER_UNEMBED);
            // An RMSNorm model is not centred: TransformerLens skips that step, and so does the record.
            assertThat(rms.config().weightProcessing()).containsExactly(FOLD_LN, CENTER_UNEMBED, FOLD_VALUE_BIASES);
            assertThat(nothing.config().weightsProcessed()).isFalse();
            // It survives JSON under a snake_case key.
            assertThat(TransformerConfig.fromJson(processed.config().toJson()).weightProcessing())
                    .isEqualTo(processed.config().weightProcessing());
            assertThat(processed.config().toJson()).contains("\"weight_processing\"");
        }
    }

    @Test
    void refactoringFactoredAttentionMatricesKeepsTheCircuits() {
        try (NDManager manager = NDManager.newBaseManager()) {
            TransformerConfig cfg = RandomModels.layerNormConfig();
            Map<String, NDArray> sd = RandomModels.stateDict(cfg, manager);
            ProcessedWeights refactored = pure(sd, s -> new ProcessedWeights(
                    WeightProcessing.refactorFactoredAttnMatrices(s, cfg), cfg));
            assertSamePredictions(cfg, sd, refactored, manager, false);
            // W_O is a rotation onto d_model: its rows are orthonormal, W_O · W_Oᵀ = I per head.
            NDArray wO = refactored.stateDict().get("blocks.1.attn.W_O");
            NDArray gram = wO.matMul(wO.transpose(0, 2, 1));
            assertClose("W_O W_Oᵀ", gram, manager.eye(cfg.dHead()).expandDims(0).repeat(0, cfg.nHeads()), 1e-4);
            assertThat(refactored.stateDict().get("blocks.0.attn.b_V").abs().sum().getFloat()).isZero();
        }
        for (String arch : new String[] {"gpt2", "bloom"}) {
            try (HookedTransformer plain = HookedTransformer.fromPretrained(Fixtures.model(arch));
                 HookedTransformer refactored = HookedTransformer.fromPretrained(Fixtures.model(arch),
                         ProcessOptions.defaults().withRefactorFactoredAttnMatrices(true));
                 NDManager manager = NDManager.newBaseManager()) {
                NDArray tokens = Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager)
                        .get("input_ids");
                assertClose(arch + " logits", refactored.forward(tokens), plain.forward(tokens), ATOL);
            }
        }
    }

    @Test
    void refactoringIsRefusedForRotaryAndGroupedQueryModelsWithTheReason() {
        assertThatThrownBy(() -> HookedTransformer.fromPretrained(Fixtures.model("gpt_neox"),
                ProcessOptions.defaults().withRefactorFactoredAttnMatrices(true)))
                .isInstanceOf(LoupeException.class)
                .hasMessageContaining("rotary");
        TransformerConfig gqa = RandomModels.rmsNormConfig().toBuilder()
                .positionalEmbeddingType(PositionalEmbeddingType.STANDARD).rotaryDim(null).build();
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = RandomModels.stateDict(gqa, manager);
            assertThatThrownBy(() -> WeightProcessing.refactorFactoredAttnMatrices(sd, gqa))
                    .isInstanceOf(LoupeException.class)
                    .hasMessageContaining("grouped-query");
        }
    }
}
