package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.sae.testing.SaeFixtures;
import dev.loupe.testing.Fixtures;
import java.nio.file.Path;

/** The SAELens training reference in {@code testdata/sae/training} (see its README's "Training reference"). */
final class TrainingFixture {
    static final Path DIR = Fixtures.ROOT.resolve("sae/training");
    static final String HOOK = "blocks.0.hook_resid_post";

    private TrainingFixture() {}

    /** {@code summary.json}. */
    static JsonNode summary() {
        return Fixtures.json(DIR.resolve("summary.json"));
    }

    /** {@code tokens} [1024, 32] or {@code eval_tokens} [64, 32]. */
    static NDArray tokens(SaeFixtures fixtures, String name) {
        return Fixtures.readAll(DIR.resolve("tokens.safetensors"), fixtures.manager()).get(name);
    }

    /** The run's settings as {@code summary.json} records them (SAELens's runner config). */
    static SaeTrainingConfig.Builder config(String run) {
        JsonNode c = summary().path("runs").path(run).path("config");
        JsonNode sae = c.path("sae");
        SaeArchitecture architecture = SaeArchitecture.fromJson(sae.path("architecture").asText(), "summary.json");
        SaeTrainingConfig.Builder b = SaeTrainingConfig.builder(architecture, c.path("hook_name").asText(),
                sae.path("d_in").asInt(), sae.path("d_sae").asInt())
                .applyBDecToInput(sae.path("apply_b_dec_to_input").asBoolean())
                .decoderInitNorm(sae.path("decoder_init_norm").asDouble())
                .trainingTokens(c.path("training_tokens").asLong())
                .trainBatchSizeTokens(c.path("train_batch_size_tokens").asInt())
                .contextSize(c.path("context_size").asInt())
                .storeBatchSizePrompts(c.path("store_batch_size_prompts").asInt())
                .nBatchesInBuffer(c.path("n_batches_in_buffer").asInt())
                .lr(c.path("lr").asDouble())
                .adamBetas(c.path("adam_beta1").asDouble(), c.path("adam_beta2").asDouble())
                .lrWarmUpSteps(c.path("lr_warm_up_steps").asInt())
                .lrDecaySteps(c.path("lr_decay_steps").asInt())
                .deadFeatureWindow(c.path("dead_feature_window").asInt())
                .featureSamplingWindow(c.path("feature_sampling_window").asInt())
                .modelName(c.path("model_name").asText());
        if (sae.has("l1_coefficient")) {
            b.l1Coefficient(sae.path("l1_coefficient").asDouble()).l1WarmUpSteps(sae.path("l1_warm_up_steps").asInt());
        }
        if (sae.has("k")) {
            b.k(sae.path("k").asInt()).auxLossCoefficient(sae.path("aux_loss_coefficient").asDouble())
                    .rescaleActsByDecoderNorm(sae.path("rescale_acts_by_decoder_norm").asBoolean());
        }
        return b;
    }
}
