package dev.loupe.lens.causal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.lens.LogitLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.testing.TensorAssert;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Subspace ablation against the tuned-lens library's {@code ablate_subspace} on the shared lens's
 * model (testdata/lens_extra/causal.safetensors, section d of its README): layer 1's causal basis and
 * a random 3-d subspace removed from block 0's output, zero and mean.
 */
class SubspaceAblationTest {
    /** The README's tolerance: atol 1e-4 × max(1, max |reference|); argmax exact. */
    private static final double ATOL = 1e-4;

    private static HookedTransformer model;
    private static NDManager manager;
    private static Map<String, NDArray> causal;
    private static NDArray inputIds;

    @BeforeAll
    static void load() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        manager = NDManager.newBaseManager();
        causal = Fixtures.readAll(Fixtures.ROOT.resolve("lens_extra/causal.safetensors"), manager);
        inputIds = Fixtures.readAll(Fixtures.ROOT.resolve("lens_extra/inputs.safetensors"), manager).get("input_ids");
    }

    @AfterAll
    static void close() {
        manager.close();
        model.close();
    }

    @ParameterizedTest(name = "{0} subspace, {1} ablation")
    @CsvSource({"basis, layer_1.vectors, zero", "basis, layer_1.vectors, mean",
        "random, layer_1.random_subspace, zero", "random, layer_1.random_subspace, mean"})
    void ablatingBlockZerosOutputMatchesTheLibrary(String kind, String basisKey, String mode) {
        String prefix = "ablate." + kind + "." + mode + ".layer_0.";
        AblationEffect effect = CausalFidelity.measure(model, inputIds,
                SubspaceAblation.ablateSubspace(causal.get(basisKey), 0, AblationMode.fromKey(mode)));
        assertMatches(prefix, effect);
    }

    @Test
    void theLensLayerTheBasisWasFoundAtIsTheSameResidual() {
        // hidden_states[1] = blocks.1.hook_resid_pre = blocks.0.hook_resid_post.
        AblationEffect effect = CausalFidelity.measure(model, LogitLens.of(model), 1, inputIds,
                causal.get("layer_1.vectors"), AblationMode.MEAN);
        assertMatches("ablate.basis.mean.layer_0.", effect);
        assertThat(effect.meanKl()).isGreaterThan(0.4);
    }

    @Test
    void theCausalBasisMovesTheModelMoreThanARandomSubspace() {
        NDArray random = CausalFidelity.randomSubspace(32, 3, 1235, manager);
        TensorAssert.assertClose("orthonormal columns", random.transpose().matMul(random),
                manager.eye(3, 3, 0, DataType.FLOAT32), 1e-5);
        LogitLens lens = LogitLens.of(model);
        double basis = CausalFidelity.measure(model, lens, 1, inputIds, causal.get("layer_1.vectors"), AblationMode.MEAN)
                .meanKl();
        double control = CausalFidelity.measure(model, lens, 1, inputIds, random, AblationMode.MEAN).meanKl();
        assertThat(basis).as("the library's mean: 0.513").isCloseTo(0.513, offset(1e-3));
        assertThat(control).as("a random 3-d subspace (the library's: 0.126)").isLessThan(basis / 2);
    }

    @Test
    void removingTheSameSpanInAnotherBasisChangesNothing() {
        NDArray basis = causal.get("layer_1.vectors");
        NDArray mixing = manager.create(new float[] {2, 1, 0, 0, 3, 1, 1, 0, -1}, new Shape(3, 3));
        NDArray mixed = basis.matMul(mixing); // the same span, columns neither unit nor orthogonal
        AblationEffect effect = CausalFidelity.measure(model, inputIds,
                SubspaceAblation.ablateSubspace(mixed, 0, AblationMode.ZERO));
        assertMatches("ablate.basis.zero.layer_0.", effect);
    }

    @Test
    void removeSubspaceIsTheHooksFormula() {
        NDArray u = causal.get("layer_0.init_vectors").transpose().reshape(1, 3, 32);
        NDArray basis = causal.get("layer_1.vectors");
        NDArray zero = SubspaceAblation.removeSubspace(u, basis, AblationMode.ZERO);
        TensorAssert.assertClose("what is left lies outside the subspace", zero.matMul(basis),
                manager.zeros(new Shape(1, 3, 3)), 1e-6);
        NDArray mean = SubspaceAblation.removeSubspace(u, basis, AblationMode.MEAN);
        NDArray meanComponents = u.reshape(3, 32).mean(new int[] {0}).matMul(basis); // [3]
        for (int row = 0; row < 3; row++) {
            TensorAssert.assertClose("row " + row + "'s component is the mean's", mean.get(0, row).matMul(basis),
                    meanComponents, 1e-6);
        }
    }

    @Test
    void aBasisOfTheWrongWidthOrRankIsRefused() {
        NDArray wide = manager.eye(16, 2, 0, DataType.FLOAT32);
        assertThatThrownBy(() -> CausalFidelity.measure(model, inputIds,
                SubspaceAblation.ablateSubspace(wide, 0, AblationMode.ZERO)))
                .isInstanceOf(LoupeException.class).hasMessageContaining("[d_model, k] with d_model = 32");
        NDArray dependent = manager.ones(new Shape(32, 2));
        assertThatThrownBy(() -> SubspaceAblation.hook(dependent, AblationMode.ZERO))
                .isInstanceOf(LoupeException.class).hasMessageContaining("linearly independent");
    }

    private static void assertMatches(String prefix, AblationEffect effect) {
        NDArray kl = causal.get(prefix + "kl");
        double atol = ATOL * Math.max(1, kl.abs().max().getFloat());
        TensorAssert.assertClose(prefix + "kl", effect.kl(), kl, atol);
        assertThat(effect.argmax().toLongArray()).as(prefix + "argmax").containsExactly(causal.get(prefix + "argmax")
                .toLongArray());
    }
}
