package dev.loupe.sae.analysis;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One feature and its value at one position: an entry of a top-k list.
 *
 * @param feature the feature's index in [0, d_sae)
 * @param value its activation (or attribution) there
 */
public record TopFeature(int feature, float value) {
    /** Largest value first; equal values by the smaller index, so the order is the same on every run. */
    public static final Comparator<TopFeature> ORDER = Comparator.comparingDouble((TopFeature f) -> -f.value())
            .thenComparingInt(TopFeature::feature);

    /**
     * The {@code k} largest values of {@code values} [batch, pos, d_sae] at ({@code batch}, {@code pos}), largest
     * first (ties by index); fewer than k when d_sae &lt; k.
     *
     * @throws LoupeException for a position outside the array or k &lt; 1
     */
    public static List<TopFeature> of(NDArray values, int batch, int pos, int k) {
        Shape shape = values.getShape();
        if (shape.dimension() != 3) {
            throw new LoupeException("Top features take values [batch, pos, d_sae], got " + shape);
        }
        if (batch < 0 || batch >= shape.get(0) || pos < 0 || pos >= shape.get(1)) {
            throw new LoupeException("Position (batch " + batch + ", pos " + pos + ") is outside " + shape
                    + "; use 0 ≤ batch < " + shape.get(0) + " and 0 ≤ pos < " + shape.get(1));
        }
        if (k < 1) {
            throw new LoupeException("k must be at least 1, got " + k);
        }
        float[] row;
        try (NDArray at = values.get(batch, pos)) {
            row = at.toFloatArray();
        }
        List<TopFeature> all = new ArrayList<>(row.length);
        for (int f = 0; f < row.length; f++) {
            all.add(new TopFeature(f, row[f]));
        }
        all.sort(ORDER);
        return List.copyOf(all.subList(0, Math.min(k, all.size())));
    }
}
