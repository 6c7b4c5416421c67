package dev.loupe.numeric;

import dev.loupe.CheckpointException;

/**
 * A tensor that was to be narrowed to float16 holds a value float16 cannot hold (one that would
 * become infinite or zero, see {@link HalfFloats}). Checkpoint readers throw it from their float16
 * loads, which never round such a value silently; a caller that keeps weights in float16 catches it
 * and loads that tensor in float32 instead.
 */
public class Float16RangeException extends CheckpointException {
    private final float value;

    /**
     * @param value the first value found that float16 cannot hold
     * @param what the tensor, for the message: its file and name
     */
    public Float16RangeException(float value, String what) {
        super(what + " holds " + value + ", which float16 cannot hold ("
                + (Math.abs(value) >= 1 ? "it would become infinite: the largest float16 is 65504"
                        : "it would become 0: the smallest float16 is 6.0e-8")
                + "); load it as float32");
        this.value = value;
    }

    /** The first value found that float16 cannot hold. */
    public float value() {
        return value;
    }
}
