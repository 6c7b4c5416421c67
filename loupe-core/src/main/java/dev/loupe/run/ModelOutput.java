package dev.loupe.run;

import ai.djl.ndarray.NDArray;

/**
 * What a forward pass returned. Each field is null unless the run asked for it. The arrays belong
 * to the manager of the input tokens (or to the {@code ActivationCache} of a cached run); closing
 * this closes them.
 *
 * @param logits [batch, pos, d_vocab_out]
 * @param loss mean loss (scalar) or per-token loss [batch, pos - 1]
 * @param residual the residual stream [batch, pos, d_model] when the run stopped at a layer
 */
public record ModelOutput(NDArray logits, NDArray loss, NDArray residual) implements AutoCloseable {
    @Override
    public void close() {
        for (NDArray array : new NDArray[] {logits, loss, residual}) {
            if (array != null) {
                array.close();
            }
        }
    }
}
