package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;

/** Token embedding: {@code W_E [d_vocab, d_model]}; tokens [batch, pos] → [batch, pos, d_model]. */
public final class Embed {
    private final Weight wE;
    private final int dVocab;

    public Embed(TransformerConfig cfg, Parameters params) {
        this.dVocab = cfg.dVocab();
        this.wE = params.weight("embed.W_E", cfg.dVocab(), cfg.dModel());
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
        return Parameters.float32(wE.stored().get(manager, new NDIndex("{}", tokens)));
    }
}
