package dev.loupe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.linalg.Composition;
import dev.loupe.linalg.FactoredMatrix;

/**
 * The circuits view of a model's weights, as TransformerLens's {@code QK}, {@code OV} and
 * {@code all_composition_scores}: each head's query-key and output-value matrices as low-rank
 * {@link FactoredMatrix}es, never formed densely unless asked for.
 */
public interface Circuits extends WeightViews {

    /** Every head's {@code W_Q · W_Kᵀ} [n_layers, n_heads, d_model, d_model], factored. */
    default FactoredMatrix QK(NDManager manager) {
        return new FactoredMatrix(W_Q(manager), W_K(manager).transpose(0, 1, 3, 2));
    }

    /** Every head's {@code W_V · W_O} [n_layers, n_heads, d_model, d_model], factored. */
    default FactoredMatrix OV(NDManager manager) {
        return new FactoredMatrix(W_V(manager), W_O(manager));
    }

    /** Layer {@code layer}'s heads' QK circuits [n_heads, d_model, d_model]. */
    default FactoredMatrix QK(NDManager manager, int layer) {
        return QK(manager).get(layer);
    }

    /** Layer {@code layer}'s heads' OV circuits [n_heads, d_model, d_model]. */
    default FactoredMatrix OV(NDManager manager, int layer) {
        return OV(manager).get(layer);
    }

    /** Which input of a later head an earlier head's output composes into. */
    enum CompositionMode {
        /** Into the later head's queries: OV then QK. */
        Q,
        /** Into its keys: OV then QKᵀ. */
        K,
        /** Into its values: OV then OV. */
        V
    }

    /**
     * TransformerLens's {@code all_composition_scores}: for every earlier head (layer, head) and later
     * head, {@code ‖L·R‖_F / (‖L‖_F ‖R‖_F)} with L the earlier head's OV circuit and R the later
     * head's QK (mode Q), QKᵀ (mode K) or OV (mode V) circuit. Pairs whose first layer is not
     * earlier are 0.
     *
     * @return [n_layers, n_heads, n_layers, n_heads], owned by {@code manager}
     */
    default NDArray allCompositionScores(NDManager manager, CompositionMode mode) {
        FactoredMatrix left = OV(manager);
        FactoredMatrix right = switch (mode) {
            case Q -> QK(manager);
            case K -> QK(manager).T();
            case V -> OV(manager);
        };
        NDArray scores = Composition.scores(left, right); // [layer, head, layer, head]
        int layers = config().nLayers();
        float[] earlier = new float[layers * layers];
        for (int from = 0; from < layers; from++) {
            for (int to = from + 1; to < layers; to++) {
                earlier[from * layers + to] = 1f;
            }
        }
        NDArray mask = manager.create(earlier, new Shape(layers, 1, layers, 1));
        return scores.mul(mask);
    }
}
