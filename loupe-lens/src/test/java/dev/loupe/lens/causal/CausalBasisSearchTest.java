package dev.loupe.lens.causal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.LoupeException;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensInputs;
import dev.loupe.lens.LensStats;
import dev.loupe.lens.LogitLens;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Causal bases against the tuned-lens library's {@code extract_causal_bases(lens, hiddens, k=3,
 * max_iter=100, mode="mean")} on the logit lens (testdata/lens_extra/causal.safetensors, README section
 * d), checked on the README's properties, and the same properties on the tuned lens, where the
 * library crashes.
 */
class CausalBasisSearchTest {
    /** Orthonormal columns (README: ≤ 1e-4). */
    private static final double ORTHONORMAL_ATOL = 1e-4;
    /** Energies: atol 1e-4 × max(1, max |reference|). */
    private static final double ENERGY_ATOL = 1e-4;
    /** The top energy may not fall below this share of the library's. */
    private static final double TOP_ENERGY_SHARE = 0.98;

    private static HookedTransformer model;
    private static TunedLens tuned;
    private static NDManager manager;
    private static Map<String, NDArray> causal;
    private static LensInputs inputs;
    private static List<CausalBasis> logitBases;
    private static List<CausalBasis> tunedBases;

    @BeforeAll
    static void extract() {
        model = HookedTransformer.fromPretrainedNoProcessing(Fixtures.model("gpt2-tok"));
        tuned = TunedLens.load(Fixtures.ROOT.resolve("lens"), model);
        manager = NDManager.newBaseManager();
        causal = Fixtures.readAll(Fixtures.ROOT.resolve("lens_extra/causal.safetensors"), manager);
        NDArray inputIds = Fixtures.readAll(Fixtures.ROOT.resolve("lens_extra/inputs.safetensors"), manager)
                .get("input_ids");
        inputs = LensInputs.run(model, inputIds);
        CausalBasisOptions options = CausalBasisOptions.of(3);
        logitBases = CausalBasisSearch.extract(LogitLens.of(model), inputs, options, manager);
        // Two directions and a smaller budget suffice for the properties, and keep the test short.
        tunedBases = CausalBasisSearch.extract(tuned, inputs, new CausalBasisOptions(2, 15, AblationMode.MEAN,
                CausalBasisOptions.DEFAULT_TOLERANCE), manager);
    }

    @AfterAll
    static void close() {
        inputs.close();
        manager.close();
        tuned.close();
        model.close();
    }

    @Test
    void theEnergyOfTheLibrarysVectorsIsTheLibrarysEnergy() {
        for (int layer = 0; layer < 2; layer++) {
            NDArray vectors = causal.get("layer_" + layer + ".vectors");
            float[] expected = causal.get("layer_" + layer + ".energy_recomputed").toFloatArray();
            for (int j = 0; j < 3; j++) {
                double energy = CausalBasisSearch.energy(LogitLens.of(model), layer, inputs.hidden(layer),
                        vectors.get(new NDIndex(":, {}", j)), AblationMode.MEAN);
                assertThat(energy).as("layer %d vector %d", layer, j).isCloseTo(expected[j],
                        offset(ENERGY_ATOL));
            }
        }
    }

    @Test
    void theLogitLensStartsFromTheUnembeddingsLeftSingularVectors() {
        for (int layer = 0; layer < 2; layer++) {
            double[][] start = CausalBasisSearch.initialVectors(LogitLens.of(model), layer, 3);
            float[] library = causal.get("layer_" + layer + ".init_vectors").toFloatArray(); // [32, 3]
            for (int j = 0; j < 3; j++) {
                double dot = 0;
                for (int r = 0; r < 32; r++) {
                    dot += start[j][r] * library[r * 3 + j];
                }
                assertThat(Math.abs(dot)).as("|cos| of singular vector %d with the library's", j).isGreaterThan(1 - 1e-4);
            }
        }
    }

    @Test
    void logitLensBasesHaveTheLibrarysProperties() {
        for (CausalBasis basis : logitBases) {
            assertProperties(LogitLens.of(model), basis);
            float libraryTop = causal.get("layer_" + basis.layer() + ".energies").getFloat(0);
            assertThat(basis.energies()[0]).as("layer %d's top energy vs the library's %f", basis.layer(), libraryTop)
                    .isGreaterThanOrEqualTo((float) (TOP_ENERGY_SHARE * libraryTop));
        }
    }

    @Test
    void tunedLensBasesHaveTheSameProperties() {
        for (CausalBasis basis : tunedBases) {
            assertProperties(tuned, basis);
            // The search improves on its start, the pulled-back unembedding's top singular vector.
            double[] start = CausalBasisSearch.initialVectors(tuned, basis.layer(), 1)[0];
            float[] startFloats = new float[start.length];
            for (int i = 0; i < start.length; i++) {
                startFloats[i] = (float) start[i];
            }
            double startEnergy = CausalBasisSearch.energy(tuned, basis.layer(), inputs.hidden(basis.layer()),
                    manager.create(startFloats), AblationMode.MEAN);
            assertThat((double) basis.energies()[0]).as("layer %d: top energy vs its start's", basis.layer())
                    .isGreaterThan(startEnergy);
        }
    }

    @Test
    void zeroAblationBasesMeasureZeroAblation() {
        Lens lens = LogitLens.of(model);
        NDArray h = inputs.hidden(1);
        CausalBasis basis = CausalBasisSearch.extract(lens, 1, h, new CausalBasisOptions(1, 10, AblationMode.ZERO,
                CausalBasisOptions.DEFAULT_TOLERANCE), manager);
        NDArray ablated = SubspaceAblation.removeSubspace(h, basis.vectors(), AblationMode.ZERO);
        double kl = LensStats.klDivergence(lens.forward(h, 1), lens.forward(ablated, 1)).mean().getFloat();
        assertThat((double) basis.energies()[0]).isCloseTo(kl, offset(ENERGY_ATOL)).isGreaterThan(0);
    }

    @Test
    void badOptionsAreRefused() {
        assertThatThrownBy(() -> CausalBasisOptions.of(0)).isInstanceOf(LoupeException.class).hasMessageContaining("k >= 1");
        assertThatThrownBy(() -> CausalBasisSearch.extract(LogitLens.of(model), 0, inputs.hidden(0),
                CausalBasisOptions.of(33), manager)).isInstanceOf(LoupeException.class).hasMessageContaining("d_model = 32");
    }

    private static void assertProperties(Lens lens, CausalBasis basis) {
        String what = lens.getClass().getSimpleName() + " layer " + basis.layer();
        NDArray v = basis.vectors();
        int k = basis.k();
        assertThat(v.getShape().getShape()).as(what + " shape").containsExactly(32, k);
        float[] gram = v.transpose().matMul(v).toFloatArray();
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                assertThat((double) gram[i * k + j]).as(what + " VᵀV[%d,%d]", i, j)
                        .isCloseTo(i == j ? 1 : 0, offset(ORTHONORMAL_ATOL));
            }
        }
        float[] energies = basis.energies();
        for (int j = 0; j < k; j++) {
            if (j > 0) {
                assertThat(energies[j]).as(what + " energies descend").isLessThanOrEqualTo(energies[j - 1]);
            }
            // Recomputed from scratch: the lens on h with column j mean-ablated, KL against the clean lens.
            NDArray h = inputs.hidden(basis.layer());
            NDArray column = v.get(new NDIndex(":, {}:{}", j, j + 1));
            NDArray ablated = SubspaceAblation.removeSubspace(h, column, AblationMode.MEAN);
            double kl = LensStats.klDivergence(lens.forward(h, basis.layer()), lens.forward(ablated, basis.layer()))
                    .mean().getFloat();
            assertThat((double) energies[j]).as(what + " energy %d = its mean-ablation KL", j)
                    .isCloseTo(kl, offset(ENERGY_ATOL));
        }
    }
}
