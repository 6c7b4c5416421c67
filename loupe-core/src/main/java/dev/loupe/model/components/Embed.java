package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.numeric.StateDict;
import java.util.Optional;

/**
 * Token embedding: {@code W_E [d_vocab, d_model]}; tokens [batch, pos] → [batch, pos, d_model]. Where
 * {@code W_E} is a stored matrix with a scale (Gemma's √d_model, see {@link StateDict#putScaled}), the rows
 * looked up are scaled: the same float32 products as looking up rows of the scaled matrix.
 */
public final class Embed {
    private final Weight wE;
    private final float scale; // 1 where W_E is stored as it is
    private final int dVocab;

    public Embed(TransformerConfig cfg, Parameters params) {
        this.dVocab = cfg.dVocab();
        Optional<StateDict.Scaled> scaled = params.scaled("embed.W_E", cfg.dVocab(), cfg.dModel());
        this.wE = scaled.map(s -> Weight.of(s.stored())).orElseGet(() -> params.weight("embed.W_E", cfg.dVocab(), cfg.dModel()));
        this.scale = scaled.map(StateDict.Scaled::scale).orElse(1f);
    }

    /**
     * @param tokens int64 [batch, pos]
     * @param manager the forward pass's manager, which owns the result
     * @return [batch, pos, d_model], a copy (never a view of the weights)
     */
    public NDArray forward(NDArray tokens, NDManager manager) {
        long min = tokens.min().getLong();
        long max = tokens.max().getLong();
        if (min < 0 || max >= dVocab) {
            throw new LoupeException("Token id " + (min < 0 ? min : max) + " is outside the vocabulary [0, "
                    + dVocab + "); check that the tokens were made by this model's tokenizer");
        }
        NDArray rows = Parameters.float32(wE.stored().get(manager, new NDIndex("{}", tokens)));
        return scale == 1f ? rows : rows.muli(scale);
    }
}
