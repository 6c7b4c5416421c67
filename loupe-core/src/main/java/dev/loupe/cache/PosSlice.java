package dev.loupe.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.numeric.FilledArrays;

/**
 * TransformerLens's {@code Slice} over the position axis: everything, one position (which drops the
 * axis), a range, or a list of positions.
 */
public final class PosSlice {
    private static final PosSlice ALL = new PosSlice(null, null, null, null);

    private final Integer single;
    private final Integer start;
    private final Integer stop;
    private final long[] indices;

    private PosSlice(Integer single, Integer start, Integer stop, long[] indices) {
        this.single = single;
        this.start = start;
        this.stop = stop;
        this.indices = indices;
    }

    /** Every position. */
    public static PosSlice all() {
        return ALL;
    }

    /** One position (negative counts from the end); the position axis is dropped. */
    public static PosSlice at(int position) {
        return new PosSlice(position, null, null, null);
    }

    /** Positions {@code start} (inclusive) to {@code stop} (exclusive), Python-style (negative allowed). */
    public static PosSlice range(int start, int stop) {
        return new PosSlice(null, start, stop, null);
    }

    /** The listed positions, in that order. */
    public static PosSlice indices(long... positions) {
        return new PosSlice(null, null, null, positions.clone());
    }

    /** Whether this keeps every position. */
    public boolean isAll() {
        return single == null && start == null && indices == null;
    }

    /** Applies the slice to axis {@code dim} (negative counts from the end) of {@code x}. */
    public NDArray apply(NDArray x, int dim) {
        if (isAll()) {
            return x;
        }
        int axis = dim < 0 ? x.getShape().dimension() + dim : dim;
        String prefix = ":, ".repeat(axis);
        if (single != null) {
            return x.get(prefix + single);
        }
        if (indices != null) {
            return x.get(new NDIndex(prefix + "{}", FilledArrays.of(x.getManager(), indices)));
        }
        return x.get(prefix + start + ":" + stop);
    }
}
