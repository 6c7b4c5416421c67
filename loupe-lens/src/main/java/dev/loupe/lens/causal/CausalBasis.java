package dev.loupe.lens.causal;

import ai.djl.ndarray.NDArray;

/**
 * The directions of one layer's residual stream that a lens depends on most, found by
 * {@link CausalBasisSearch}.
 *
 * @param layer the lens layer whose residual the directions live in
 * @param vectors orthonormal columns, float32 [d_model, k], by descending energy
 * @param energies each column's energy, [k] descending: the mean over every token of
 *     {@code KL(lens(h) ‖ lens(h with that one direction removed))}, in nats
 */
public record CausalBasis(int layer, NDArray vectors, float[] energies) {

    /** How many directions. */
    public int k() {
        return energies.length;
    }
}
