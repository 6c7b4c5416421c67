package dev.loupe.analysis.patching;

import ai.djl.ndarray.NDArray;

/**
 * A {@link PatchMetric} that reads the logits of the last position only, [runs · batch, pos, d_vocab] → one value per
 * run: its single-run value is {@link #applyEach} of one run.
 */
abstract class LastPositionMetric implements PatchMetric {
    @Override
    public final float apply(NDArray logits) {
        return applyEach(logits, 1)[0];
    }

    @Override
    public final int[] positions() {
        return new int[] {-1};
    }

    @Override
    public abstract float[] applyEach(NDArray logits, int runs);
}
