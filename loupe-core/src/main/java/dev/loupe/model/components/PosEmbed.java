package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.numeric.FilledArrays;

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
     * @param pos number of new positions
     * @param offset positions before them (a key/value cache's length)
     * @param keep [batch × (offset + pos)] of 1 (token) and 0 (padding), or null
     * @param manager the forward pass's manager, which owns the result
     * @return [batch, pos, d_model], a copy (never a view of the weights)
     */
    public NDArray forward(int batch, int pos, int offset, long[] keep, NDManager manager) {
        if (offset + pos > nCtx) {
            throw new LoupeException("The input reaches position " + (offset + pos) + " but the model takes at most n_ctx = "
                    + nCtx + "; shorten the input");
        }
        long[] positions = AttentionInputs.positions(keep, batch, pos, offset);
        NDArray ids = FilledArrays.of(manager, positions, new Shape(keep == null ? 1 : batch, pos));
        if (keep == null) {
            ids = ids.repeat(0, batch);
        }
        NDArray embedded = Parameters.float32(wPos.stored().get(manager, new NDIndex("{}", ids))); // [batch, pos, d_model]
        if (keep == null) {
            return embedded;
        }
        float[] real = new float[batch * pos];
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < pos; p++) {
                real[b * pos + p] = keep[b * (offset + pos) + offset + p];
            }
        }
        return embedded.muli(FilledArrays.of(manager, real, new Shape(batch, pos, 1)));
    }
}
