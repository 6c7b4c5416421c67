package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.testing.Fixtures;
import org.junit.jupiter.api.Test;

/** TransformerLens's stacked weight properties. */
class WeightViewsTest {

    @Test
    void stackedViewsHaveTransformerLensShapesAndValues() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager()) {
            model.weightsManager().cap(); // views are built in the caller's manager only
            assertThat(model.W_Q(manager).getShape().toString()).isEqualTo("(2, 4, 32, 8)");
            assertThat(model.W_O(manager).getShape().toString()).isEqualTo("(2, 4, 8, 32)");
            assertThat(model.b_V(manager).getShape().toString()).isEqualTo("(2, 4, 8)");
            assertThat(model.b_O(manager).getShape().toString()).isEqualTo("(2, 32)");
            assertThat(model.W_in(manager).getShape().toString()).isEqualTo("(2, 32, 128)");
            assertThat(model.W_out(manager).getShape().toString()).isEqualTo("(2, 128, 32)");
            assertThat(model.W_gate(manager)).isNull();
            assertThat(model.W_E_pos(manager).getShape().toString()).isEqualTo("(640, 32)");
            assertClose("W_K[1]", model.W_K(manager).get(1), model.stateDict().get("blocks.1.attn.W_K"), 0);
            model.W_U(manager).muli(0); // a copy: the model is unchanged
            // Read through a view in the test's manager: the tied W_U is a strided view of W_E, whose bytes
            // DJL gathers into a copy owned by the array's own manager (the capped weights' manager).
            float[] unembed = model.stateDict().get("unembed.W_U").get(manager, new NDIndex()).toFloatArray();
            assertThat(unembed).as("W_U after zeroing its view").isNotEqualTo(new float[unembed.length]);
        }
    }

    @Test
    void groupedKeysAndValuesAreRepeatedPerQueryHead() {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("llama"));
             NDManager manager = NDManager.newBaseManager()) {
            assertThat(model.W_K(manager).getShape().toString()).isEqualTo("(2, 4, 32, 8)");
            assertClose("head 1 = kv head 0", model.W_V(manager).get("0, 1"),
                    model.stateDict().get("blocks.0.attn._W_V").get(0), 0);
            assertClose("head 2 = kv head 1", model.W_V(manager).get("0, 2"),
                    model.stateDict().get("blocks.0.attn._W_V").get(1), 0);
            assertThat(model.W_gate(manager).getShape().toString()).isEqualTo("(2, 32, 96)");
        }
    }
}
