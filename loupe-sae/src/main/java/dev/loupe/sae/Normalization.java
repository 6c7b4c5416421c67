package dev.loupe.sae;

import ai.djl.ndarray.NDArray;
import dev.loupe.numeric.Scalars;
import dev.loupe.sae.format.ActivationNormalization;

/**
 * One input's normalisation and its inverse, with the per-token statistics taken on the way in
 * (SAELens keeps them on the module between encode and decode; here they travel with the pass).
 */
final class Normalization {
    private static final float LAYER_NORM_EPS = 1e-5f;
    private final ActivationNormalization kind;
    private NDArray scale; // constant_norm_rescale: c = √d_in / ‖x‖ [.., 1]; layer_norm: σ [.., 1]
    private NDArray mean; // layer_norm: μ [.., 1]

    Normalization(ActivationNormalization kind) {
        this.kind = kind;
    }

    /** x [.., d_in] → the normalised input, keeping the statistics for {@link #out}. */
    NDArray in(NDArray x, int dIn) {
        switch (kind) {
            case CONSTANT_NORM_RESCALE -> {
                // Exponent and factor as libtorch-owned scalars: under autograd (feature attribution) DJL's Java-backed
                // ones would be freed under the tensors the backward pass saved.
                try (NDArray minusOne = Scalars.of(x, -1f)) {
                    scale = Scalars.mul(x.norm(new int[] {-1}, true).pow(minusOne), (float) Math.sqrt(dIn));
                }
                return x.mul(scale);
            }
            case LAYER_NORM -> {
                mean = x.mean(new int[] {-1}, true);
                NDArray centred = x.sub(mean);
                long n = x.getShape().get(x.getShape().dimension() - 1);
                // torch.std: unbiased (n − 1).
                scale = Scalars.mul(centred.square().sum(new int[] {-1}, true), 1f / (n - 1)).sqrt();
                return centred.div(scale.add(LAYER_NORM_EPS));
            }
            default -> {
                return x;
            }
        }
    }

    /** y [.., d_in] → y in the input's scale (the same token's statistics; no epsilon on the way out). */
    NDArray out(NDArray y) {
        return switch (kind) {
            case CONSTANT_NORM_RESCALE -> y.div(scale);
            case LAYER_NORM -> y.mul(scale).add(mean);
            default -> y;
        };
    }
}
