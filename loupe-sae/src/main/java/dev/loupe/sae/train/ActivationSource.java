package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Activations of one hook point, handed out a chunk at a time and endlessly (a source that reaches its end
 * starts again, as SAELens restarts its dataset). Its place is one number, so that a checkpoint can store it
 * and a resumed run reads exactly the chunks an uninterrupted one would.
 */
public interface ActivationSource {

    /** The width of every activation (hook_z: n_heads·d_head). */
    int dIn();

    /** The next chunk of activations [rows, d_in] (float32), owned by {@code manager}. */
    NDArray next(NDManager manager);

    /** Where the next chunk starts, for a checkpoint. */
    long position();

    /** Continues from a {@link #position()} saved earlier. */
    void seek(long position);
}
