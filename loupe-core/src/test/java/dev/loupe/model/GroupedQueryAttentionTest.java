package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.cache.ActivationCache;
import dev.loupe.testing.Fixtures;
import org.junit.jupiter.api.Test;

/** Grouped-query attention keeps the smaller head count in its hooks unless asked to ungroup. */
class GroupedQueryAttentionTest {

    @Test
    void ungroupingRepeatsKeysAndValuesPerQueryHeadWithoutChangingTheLogits() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("llama"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.readAll(Fixtures.model("llama").resolve("reference.safetensors"), manager)
                    .get("input_ids");
            NDArray grouped;
            model.weightsManager().cap(); // the repeated key/value weights must not land there
            try (ActivationCache cache = model.runWithCache(tokens)) {
                assertThat(cache.get("k", 0).getShape().toString()).isEqualTo("(2, 16, 2, 8)");
                assertThat(cache.get("rot_k", 0).getShape().toString()).isEqualTo("(2, 16, 2, 8)");
                assertThat(cache.get("q", 0).getShape().toString()).isEqualTo("(2, 16, 4, 8)");
                grouped = cache.get("k", 0).duplicate();
                grouped.attach(manager);
                model.setUngroupGroupedQueryAttention(true);
                model.setUseSplitQkvInput(true);
                try (ActivationCache ungrouped = model.runWithCache(tokens)) {
                    assertClose("logits", ungrouped.logits(), cache.logits(), 1e-5);
                    assertThat(ungrouped.get("k", 0).getShape().toString()).isEqualTo("(2, 16, 4, 8)");
                    assertThat(ungrouped.get("blocks.0.hook_k_input").getShape().toString()).isEqualTo("(2, 16, 4, 32)");
                    // Query heads 0 and 1 share key head 0, as repeat_interleave lays them out.
                    assertClose("head 1 = group 0", ungrouped.get("k", 0).get(":, :, 1"), grouped.get(":, :, 0"), 1e-5);
                    assertClose("head 2 = group 1", ungrouped.get("k", 0).get(":, :, 2"), grouped.get(":, :, 1"), 1e-5);
                }
            }
        }
    }
}
