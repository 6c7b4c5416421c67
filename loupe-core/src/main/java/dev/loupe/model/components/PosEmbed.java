package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.model.TransformerConfig;

/**
 * Learned absolute position embedding: {@code W_pos [n_ctx, d_model]}. With a padding mask, each
 * sequence counts positions from its first real token and pad positions get a zero embedding, as
 * TransformerLens does.
 */
public final class PosEmbed {
    private final Weight wPos;
    private final int nCtx;

    public PosEmbed(TransformerConfig cfg, Parameters params) {
        this.nCtx = cfg.nCtx();
        this.wPos = params.weight("pos_embed.W_pos", cfg.nCtx(), cfg.dModel());
    }

    /**
     * @param batch batch size
     * @param pos number of positions
     * @param attentionMask [batch, pos] of 1 (token) and 0 (padding), or null
     * @param manager the forward pass's manager, which owns the result
     * @return [batch, pos, d_model], a copy (never a view of the weights)
     */
    public NDArray forward(long batch, long pos, NDArray attentionMask, NDManager manager) {
        if (pos > nCtx) {
            throw new LoupeException("The input has " + pos + " positions but the model takes at most n_ctx = "
                    + nCtx + "; shorten the input");
        }
        if (attentionMask == null) {
            NDArray positions = manager.arange(pos).expandDims(0).repeat(0, batch); // [batch, pos]
            return Parameters.float32(wPos.stored().get(manager, new NDIndex("{}", positions)));
        }
        NDArray mask = attentionMask.toType(DataType.INT64, false);
        NDArray positions = mask.cumSum(1).subi(1).maximum(0L); // [batch, pos]
        NDArray embedded = Parameters.float32(wPos.stored().get(manager, new NDIndex("{}", positions)));
        return embedded.muli(mask.expandDims(-1).toType(DataType.FLOAT32, false));
    }
}
