package dev.loupe.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * TransformerLens's patch setters. Each replaces, in every batch row, the slice of the activation
 * that the index (after its layer) names:
 *
 * <pre>
 * LAYER_POS                       index [layer, pos]                     act[:, pos, ...]
 *                                 (resid, attn_out, mlp_out: [batch, pos, d_model])
 * LAYER_POS_HEAD_VECTOR           index [layer, pos, head]               act[:, pos, head]
 *                                 (q, k, v, z, result: [batch, pos, head_index, d_head])
 * LAYER_HEAD_VECTOR               index [layer, head]                    act[:, :, head]            (same, all positions)
 * LAYER_HEAD_PATTERN              index [layer, head]                    act[:, head, :, :]
 *                                 (pattern, attn_scores: [batch, head_index, dest_pos, src_pos])
 * LAYER_HEAD_POS_PATTERN          index [layer, head, dest_pos]          act[:, head, dest_pos, :]
 * LAYER_HEAD_DEST_SRC_POS_PATTERN index [layer, head, dest_pos, src_pos] act[:, head, dest_pos, src_pos]
 * </pre>
 */
public final class PatchSetters {
    /** {@code layer_pos_patch_setter}. */
    public static final Slice LAYER_POS = new Slice("layer_pos", 0);
    /** {@code layer_pos_head_vector_patch_setter}. */
    public static final Slice LAYER_POS_HEAD_VECTOR = new Slice("layer_pos_head_vector", 0, 1);
    /** {@code layer_head_vector_patch_setter}. */
    public static final Slice LAYER_HEAD_VECTOR = new Slice("layer_head_vector", 1);
    /** {@code layer_head_pattern_patch_setter}. */
    public static final Slice LAYER_HEAD_PATTERN = new Slice("layer_head_pattern", 0);
    /** {@code layer_head_pos_pattern_patch_setter}. */
    public static final Slice LAYER_HEAD_POS_PATTERN = new Slice("layer_head_pos_pattern", 0, 1);
    /** {@code layer_head_dest_src_pos_pattern_patch_setter}. */
    public static final Slice LAYER_HEAD_DEST_SRC_POS_PATTERN = new Slice("layer_head_dest_src_pos_pattern", 0, 1, 2);

    private PatchSetters() {}

    /**
     * A setter that patches one coordinate along some dimensions of the activation and everything
     * along the others: index entry {@code k + 1} (after the layer) selects dimension {@code dims[k]}
     * of a batch row (the dimensions after batch, ascending).
     *
     * <p>Because the patched region is a box, a batch of runs can be patched with one mask
     * (see {@code maskShape}) and one {@code where}, instead of one indexing op per run.
     */
    public static final class Slice implements PatchSetter {
        private final String name;
        private final int[] dims;

        Slice(String name, int... dims) {
            this.name = name;
            this.dims = dims.clone();
        }

        /** Dimensions of a batch row that the index selects, ascending. */
        public int[] dims() {
            return dims.clone();
        }

        @Override
        public NDArray apply(NDArray corrupted, int[] index, NDArray clean) {
            checkIndex(index);
            NDIndex slice = ndIndex(index);
            // TransformerLens assigns in place; the clean slice is a temporary of the clean cache's manager.
            try (NDArray piece = clean.get(slice)) {
                corrupted.set(slice, piece);
            }
            return corrupted;
        }

        /** {@code :, <coordinate or :>, ...} over [batch, ...]. */
        NDIndex ndIndex(int[] index) {
            StringBuilder spec = new StringBuilder(":");
            Object[] args = new Object[dims.length];
            int k = 0;
            for (int d = 0; d <= dims[dims.length - 1]; d++) {
                if (k < dims.length && dims[k] == d) {
                    spec.append(", {}");
                    args[k] = (long) index[k + 1];
                    k++;
                } else {
                    spec.append(", :");
                }
            }
            return new NDIndex(spec.toString(), args);
        }

        /**
         * The mask shape for one run: a batch row's shape with the dimensions this setter does not
         * index set to 1 (so the mask broadcasts over them).
         */
        Shape maskShape(Shape row) {
            long[] m = new long[row.dimension()];
            Arrays.fill(m, 1);
            for (int d : dims) {
                m[d] = row.get(d);
            }
            return new Shape(m);
        }

        /**
         * Writes into {@code mask} (at {@code offset}, {@code maskShape(row)} elements) true where the
         * activation is KEPT (not patched) for {@code index}.
         */
        void keepMask(boolean[] mask, int offset, int[] index, Shape row) {
            checkIndex(index);
            Shape m = maskShape(row);
            int size = (int) m.size();
            Arrays.fill(mask, offset, offset + size, true);
            mask[offset + flatOffset(index, m)] = false;
        }

        /** Flat position of {@code index} in an array of {@code shape} (= maskShape or its indexed dims). */
        int flatOffset(int[] index, Shape shape) {
            long flat = 0;
            int k = 0;
            for (int d = 0; d < shape.dimension(); d++) {
                long coordinate = k < dims.length && dims[k] == d ? index[++k] : 0;
                if (coordinate < 0 || coordinate >= shape.get(d)) {
                    throw new IllegalArgumentException("Patch index " + Arrays.toString(index) + " is outside the "
                            + "activation: dimension " + (d + 1) + " has size " + shape.get(d));
                }
                flat = flat * shape.get(d) + coordinate;
            }
            return (int) flat;
        }

        /**
         * For each index (flattened over this setter's dimensions, as {@link #maskShape}), whether the
         * clean and corrupted activations differ anywhere in its slice. Identical slices make a patch
         * a no-op, so its run can be skipped.
         *
         * @param clean [batch or 1, ...]
         * @param corrupted [batch, ...]
         */
        boolean[] differs(NDArray clean, NDArray corrupted) {
            int rank = corrupted.getShape().dimension();
            int[] reduce = java.util.stream.IntStream.range(0, rank)
                    .filter(a -> a == 0 || Arrays.stream(dims).noneMatch(d -> d == a - 1)).toArray();
            try (NDArray neq = corrupted.neq(clean);
                 NDArray counts = neq.toType(DataType.FLOAT32, false);
                 NDArray summed = counts.sum(reduce);
                 NDArray any = summed.gt(0)) {
                return any.toBooleanArray();
            }
        }

        private void checkIndex(int[] index) {
            if (index.length != dims.length + 1) {
                throw new IllegalArgumentException("The " + name + " setter takes an index [layer, "
                        + (dims.length) + " more], got " + Arrays.toString(index));
            }
        }

        @Override
        public String toString() {
            return name + "_patch_setter";
        }
    }
}
