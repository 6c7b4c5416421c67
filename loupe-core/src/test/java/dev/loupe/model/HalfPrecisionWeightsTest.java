package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.config.WeightDtype;
import dev.loupe.testing.Fixtures;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Weights kept in float16 and widened layer by layer compute what float16-rounded weights compute. */
class HalfPrecisionWeightsTest {

    @Test
    void gpt2WithFloat16WeightsMatchesTheFloat16CheckpointsReference() {
        // models/extra/gpt2_f16 holds models/gpt2's weights rounded to float16; its reference is their float32 forward.
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"), WeightDtype.FLOAT16);
             NDManager manager = NDManager.newBaseManager()) {
            assertThat(model.stateDict().get("blocks.0.mlp.W_in").getDataType()).isEqualTo(DataType.FLOAT16);
            assertThat(model.stateDict().get("embed.W_E").getDataType()).isEqualTo(DataType.FLOAT16);
            Map<String, NDArray> ref = Fixtures.readAll(Fixtures.model("extra/gpt2_f16").resolve("reference.safetensors"),
                    manager);
            int weightsBefore = model.weightsManager().getManagedArrays().size();
            model.weightsManager().cap();
            try (ActivationCache cache = model.runWithCache(ref.get("input_ids"), CacheOptions.all().withGradients())) {
                assertClose("logits", cache.logits(), ref.get("logits"), 1e-4);
                assertClose("attentions.1", cache.get("pattern", 1), ref.get("attentions.1"), 5e-5);
                assertThat(cache.get("blocks.0.hook_resid_pre_grad").getDataType()).isEqualTo(DataType.FLOAT32);
            }
            assertThat(model.weightsManager().getManagedArrays()).hasSize(weightsBefore);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gemma", "bloom", "gpt_neox", "gptj", "opt", "phi", "gemma2", "gemma3_text", "qwen3",
        "olmo2", "phi3", "mixtral"})
    void everyArchitectureRunsWithFloat16WeightsCloseToFloat32(String arch) {
        try (HookedTransformer half = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model(arch), WeightDtype.FLOAT16);
             NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> ref = Fixtures.readAll(Fixtures.model(arch).resolve("reference.safetensors"), manager);
            NDArray logits = half.forward(ref.get("input_ids"));
            // float16 rounding of the weights (relative 2^-11) moves these small models' logits by ~1e-2.
            assertThat(logits.sub(ref.get("logits")).abs().max().getFloat()).as(arch).isLessThan(0.1f);
        }
    }
}
