package dev.loupe.model;

import static dev.loupe.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.linalg.FactoredMatrix;
import dev.loupe.testing.Fixtures;
import org.junit.jupiter.api.Test;

/** QK and OV circuits and composition scores against dense computation. */
class CircuitsTest {

    private static double frobenius(NDArray m) {
        return Math.sqrt(m.square().sum().getFloat());
    }

    @Test
    void qkAndOvAreTheProductsOfTheHeadsWeights() {
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model("gpt2"));
             NDManager manager = NDManager.newBaseManager()) {
            FactoredMatrix qk = model.QK(manager);
            assertThat(qk.shape().toString()).isEqualTo("(2, 4, 32, 32)");
            NDArray wQ = model.stateDict().get("blocks.1.attn.W_Q").get(2);
            NDArray wK = model.stateDict().get("blocks.1.attn.W_K").get(2);
            assertClose("QK[1, 2]", qk.AB().get("1, 2"), wQ.matMul(wK.transpose()), 1e-5);
            FactoredMatrix ov = model.OV(manager, 0);
            NDArray wV = model.stateDict().get("blocks.0.attn.W_V").get(3);
            NDArray wO = model.stateDict().get("blocks.0.attn.W_O").get(3);
            assertClose("OV[0, 3]", ov.get(3).AB(), wV.matMul(wO), 1e-5);
        }
    }

    @Test
    void compositionScoresCompareAnEarlierHeadsOutputWithALaterHeadsInputs() {
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model("llama"));
             NDManager manager = NDManager.newBaseManager()) {
            NDArray q = model.allCompositionScores(manager, Circuits.CompositionMode.Q);
            assertThat(q.getShape().toString()).isEqualTo("(2, 4, 2, 4)");
            assertThat(q.get("1, :, :, :").abs().sum().getFloat()).as("no head composes into an earlier layer").isZero();
            assertThat(q.get("0, :, 0, :").abs().sum().getFloat()).as("nor into its own layer").isZero();
            NDArray ov = model.OV(manager, 0).get(1).AB();
            NDArray qk = model.QK(manager, 1).get(3).AB();
            double expected = frobenius(ov.matMul(qk)) / (frobenius(ov) * frobenius(qk));
            assertThat((double) q.get("0, 1, 1, 3").getFloat()).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4));
            NDArray k = model.allCompositionScores(manager, Circuits.CompositionMode.K);
            double expectedK = frobenius(ov.matMul(qk.transpose())) / (frobenius(ov) * frobenius(qk));
            assertThat((double) k.get("0, 1, 1, 3").getFloat()).isCloseTo(expectedK, org.assertj.core.data.Offset.offset(1e-4));
            NDArray v = model.allCompositionScores(manager, Circuits.CompositionMode.V);
            NDArray later = model.OV(manager, 1).get(3).AB();
            double expectedV = frobenius(ov.matMul(later)) / (frobenius(ov) * frobenius(later));
            assertThat((double) v.get("0, 1, 1, 3").getFloat()).isCloseTo(expectedV, org.assertj.core.data.Offset.offset(1e-4));
        }
    }
}
