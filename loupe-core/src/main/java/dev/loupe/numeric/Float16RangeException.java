package dev.loupe.numeric;

import dev.loupe.CheckpointException;

/**
 * A tensor that was to be narrowed to float16 holds a value float16 cannot hold (one that would
 * become infinite, or zero in a tensor of tiny values: see {@link Float16Narrowing}). Checkpoint
 * readers throw it from their float16 loads, which never round such a value silently; a caller that
 * keeps weights in float16 catches it and loads that tensor in float32 instead.
 */
public class Float16RangeException extends CheckpointException {
    private final float value;

    /**
     * @param value the first value found that float16 cannot hold
     * @param what the tensor, for the message: its file and name
     * @param flushed whether the value would become 0 (else infinite)
     */
    public Float16RangeException(float value, String what, boolean flushed) {
        super(what + " holds " + value + ", which float16 cannot hold ("
                + (flushed ? "it would become 0, and all its values are below 6.1e-5, float16's smallest normal number"
                        : "it would become infinite: the largest float16 is 65504")
                + "); load it as float32");
        this.value = value;
    }

    /** The first value found that float16 cannot hold. */
    public float value() {
        return value;
    }
}
