package dev.loupe.lens.decode;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.generate.GenerateOptions;
import dev.loupe.generate.Generator;
import dev.loupe.generate.NextTokenLogits;
import dev.loupe.hook.HookSpec;
import dev.loupe.lens.Lens;
import dev.loupe.model.HookedTransformer;
import java.util.List;

/**
 * Generation from an intermediate layer (the tuned-lens library's {@code TunedLens.generate}): each
 * step runs the model over the new positions, reads the residual the lens reads at {@code layer}
 * at the last position, and chooses the next token from the lens's logits there, greedily or by
 * sampling with every option of {@link GenerateOptions}. Everything else is loupe-core's generation
 * loop ({@link Generator}): batches (left-padded with an attention mask), the end-of-sequence rule, the
 * key/value cache.
 *
 * <p>The library's version feeds the whole sequence again at every step while also keeping its
 * key/value cache, so the cache grows by the full length each step and later tokens attend to
 * stale copies of the sequence; with more than one row its output is malformed. This decodes plainly:
 * with or without the cache, the tokens equal those of a full recomputation at every step.
 */
public final class LayerDecoding {
    private static final NDIndex LAST_POSITION = new NDIndex().addAllDim().addIndices(-1);

    private LayerDecoding() {}

    /**
     * Continues int64 tokens [batch, pos] by {@code options.maxNewTokens()} tokens read through
     * {@code lens} at {@code layer} (negative counts from the end).
     *
     * @param attentionMask [batch, pos] of 1 and 0 for left-padded prompts, or null
     * @return the prompts followed by the new tokens, int64 [batch, pos + generated], in {@code tokens}'s manager
     */
    public static NDArray generate(HookedTransformer model, Lens lens, int layer, NDArray tokens, NDArray attentionMask,
            GenerateOptions options) {
        return generate(model, lens, layer, tokens, attentionMask, options, null);
    }

    /** As {@link #generate(HookedTransformer, Lens, int, NDArray, NDArray, GenerateOptions)}, telling {@code listener}. */
    public static NDArray generate(HookedTransformer model, Lens lens, int layer, NDArray tokens, NDArray attentionMask,
            GenerateOptions options, Generator.StepListener listener) {
        return Generator.generate(model, tokens, attentionMask, options, listener, readout(lens, layer));
    }

    /** The next-token logits of {@code lens} at {@code layer}: [batch, d_vocab] at each step's last position. */
    public static NextTokenLogits readout(Lens lens, int layer) {
        int index = lens.layerIndex(layer);
        String hookName = lens.hook().hookName(index);
        return (model, input, forward) -> {
            NDArray[] last = new NDArray[1];
            HookSpec read = HookSpec.forward(hookName, (activation, point) -> {
                // The pass's arrays are freed when it ends: keep the last position in the step's manager.
                last[0] = activation.get(input.getManager(), LAST_POSITION); // [batch, d_model]
                return null;
            });
            model.runWithHooks(input, forward, List.of(read));
            return lens.forward(last[0].expandDims(1), index).squeeze(1); // [batch, d_vocab]
        };
    }
}
