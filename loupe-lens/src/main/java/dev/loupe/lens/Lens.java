package dev.loupe.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.loupe.LoupeException;

/**
 * Reads a model's intermediate residual stream as next-token logits. Layer {@code i} is the
 * residual entering block {@code i} ({@code blocks.i.hook_resid_pre}, the Python library's
 * {@code hidden_states[i]}: 0 is the embeddings), or the residual after block {@code i}'s attention
 * ({@code blocks.i.hook_resid_mid}) for a lens trained there; see {@link #hook()}. Negative layers
 * count from the end, as in Python.
 *
 * <p>Results belong to the manager of the residual passed in.
 */
public sealed interface Lens permits LogitLens, TunedLens {

    /** How many layers the lens reads (the model's {@code n_layers}). */
    int numLayers();

    /** Which residual stream hook it reads at each layer. */
    LensHook hook();

    /** The model's final norm and unembedding, which every lens ends with. */
    Unembedding unembedding();

    /** h [batch, pos, d_model] at {@code layer} → the lens's estimate of the final residual, same shape. */
    NDArray transformHidden(NDArray h, int layer);

    /** h [batch, pos, d_model] at {@code layer} → logits [batch, pos, d_vocab_out]. */
    default NDArray forward(NDArray h, int layer) {
        return unembedding().forward(transformHidden(h, layer));
    }

    /**
     * Every layer at once: hidden [n_layers, batch, pos, d_model] (layer {@code i} read at layer
     * {@code i}) → logits [n_layers, batch, pos, d_vocab_out].
     */
    default NDArray forwardAll(NDArray hidden) {
        long layers = hidden.getShape().get(0);
        if (layers != numLayers()) {
            throw new LoupeException("forwardAll needs one residual per layer, [" + numLayers()
                    + ", batch, pos, d_model], got " + hidden.getShape());
        }
        NDList logits = new NDList();
        for (int layer = 0; layer < layers; layer++) {
            logits.add(forward(hidden.get(layer), layer));
        }
        return NDArrays.stack(logits, 0);
    }

    /** {@code layer} as an index 0..numLayers-1 (negative counts from the end), or an error. */
    default int layerIndex(int layer) {
        int n = numLayers();
        int index = layer < 0 ? n + layer : layer;
        if (index < 0 || index >= n) {
            throw new LoupeException("Layer " + layer + " is outside this lens's " + n + " layers (0.."
                    + (n - 1) + ", or -" + n + "..-1 from the end)");
        }
        return index;
    }
}
