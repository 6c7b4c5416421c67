package dev.loupe.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;

/**
 * Where a generation step reads the next token's logits: the model's own output
 * ({@link #MODEL}), or a read-out of an intermediate layer (a lens) that runs the same pass with a
 * hook. Every step is one forward pass over the new positions with the given options (its
 * key/value cache and attention mask), so a read-out decodes with the cache as the model does.
 */
@FunctionalInterface
public interface NextTokenLogits {
    /** The model's logits at the last position. */
    NextTokenLogits MODEL = (model, input, forward) ->
            model.forward(input, forward).logits().get(new NDIndex().addAllDim().addIndices(-1));

    /**
     * Runs {@code model} once on {@code input} (int64 [batch, new positions]) with {@code forward} and
     * returns the logits that choose each row's next token, [batch, d_vocab], in {@code input}'s manager.
     */
    NDArray lastLogits(HookedTransformer model, NDArray input, ForwardOptions forward);
}
