package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import dev.loupe.hook.HookPoint;
import dev.loupe.model.TransformerConfig;

/**
 * Causal multi-head self-attention with TransformerLens's parameters: {@code W_Q/W_K/W_V}
 * [n_heads, d_model, d_head], {@code b_Q/b_K/b_V} [n_heads, d_head], {@code W_O}
 * [n_heads, d_head, d_model], {@code b_O} [d_model].
 *
 * <p>Hooks, in firing order: {@code hook_q}, {@code hook_k}, {@code hook_v} [batch, pos, head_index,
 * d_head]; {@code hook_attn_scores} and {@code hook_pattern} [batch, head_index, query_pos, key_pos]
 * (masked scores are exactly -inf); {@code hook_z} [batch, pos, head_index, d_head]; and with
 * {@code use_attn_result} {@code hook_result} [batch, pos, head_index, d_model] (without b_O).
 */
public final class Attention {
    private final int nHeads;
    private final int dHead;
    private final float attnScale;
    private final NDArray wQ;
    private final NDArray wK;
    private final NDArray wV;
    private final NDArray bQ;
    private final NDArray bK;
    private final NDArray bV;
    private final NDArray wO;
    private final NDArray bO;
    // Derived at construction so that one GEMM computes q, k and v for every head:
    private final NDArray wQkv; // [d_model, 3 * n_heads * d_head]
    private final NDArray bQkv; // [3 * n_heads * d_head]
    private final NDArray wOFlat; // [n_heads * d_head, d_model], a view of W_O
    private final HookPoint hookK;
    private final HookPoint hookQ;
    private final HookPoint hookV;
    private final HookPoint hookZ;
    private final HookPoint hookAttnScores;
    private final HookPoint hookPattern;
    private final HookPoint hookResult;

    /** @param name the module's TransformerLens name, e.g. {@code blocks.0.attn} */
    public Attention(String name, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        this.nHeads = cfg.nHeads();
        this.dHead = cfg.dHead();
        this.attnScale = cfg.useAttnScale() ? (float) cfg.attnScale() : 1f;
        int d = cfg.dModel();
        wQ = params.get(name + ".W_Q", nHeads, d, dHead);
        wK = params.get(name + ".W_K", nHeads, d, dHead);
        wV = params.get(name + ".W_V", nHeads, d, dHead);
        bQ = params.get(name + ".b_Q", nHeads, dHead);
        bK = params.get(name + ".b_K", nHeads, dHead);
        bV = params.get(name + ".b_V", nHeads, dHead);
        wO = params.get(name + ".W_O", nHeads, dHead, d);
        bO = params.get(name + ".b_O", d);
        wQkv = NDArrays.concat(new NDList(headsLast(wQ), headsLast(wK), headsLast(wV)), 1);
        bQkv = NDArrays.concat(new NDList(bQ.reshape(-1), bK.reshape(-1), bV.reshape(-1)), 0);
        wOFlat = wO.reshape(nHeads * dHead, d);

        HookCatalog.ShapeRule perHead = (c, batch, pos) -> new Shape(batch, pos, c.nHeads(), c.dHead());
        HookCatalog.ShapeRule scores = (c, batch, pos) -> new Shape(batch, c.nHeads(), pos, pos);
        hookK = hooks.add(name + ".hook_k", perHead);
        hookQ = hooks.add(name + ".hook_q", perHead);
        hookV = hooks.add(name + ".hook_v", perHead);
        hookZ = hooks.add(name + ".hook_z", perHead);
        hookAttnScores = hooks.add(name + ".hook_attn_scores", scores);
        hookPattern = hooks.add(name + ".hook_pattern", scores);
        hookResult = hooks.add(name + ".hook_result",
                (c, batch, pos) -> new Shape(batch, pos, c.nHeads(), c.dModel()), HookFlag.USE_ATTN_RESULT);
    }

    /**
     * Attention over one shared, normalised input.
     *
     * @param x [batch, pos, d_model]
     * @param mask additive mask [1 or batch, 1, pos, pos]: 0 where a query may attend, -inf elsewhere
     * @param hasPadding whether the mask can hide a whole row (then its pattern is 0, not NaN)
     * @return [batch, pos, d_model]
     */
    public NDArray forward(NDArray x, NDArray mask, boolean hasPadding, TransformerConfig cfg) {
        Shape shape = x.getShape();
        long batch = shape.get(0);
        long pos = shape.get(1);
        long width = (long) nHeads * dHead;
        NDArray qkv = x.matMul(wQkv).addi(bQkv); // [batch, pos, 3 * n_heads * d_head]
        NDArray q = hookQ.fire(qkv.get(":, :, 0:" + width).reshape(batch, pos, nHeads, dHead));
        NDArray k = hookK.fire(qkv.get(":, :, " + width + ":" + 2 * width).reshape(batch, pos, nHeads, dHead));
        NDArray v = hookV.fire(qkv.get(":, :, " + 2 * width + ":").reshape(batch, pos, nHeads, dHead));
        return attend(q, k, v, mask, hasPadding, cfg);
    }

    /**
     * Attention over separate, normalised inputs per head ({@code use_split_qkv_input} or
     * {@code use_attn_in}): each [batch, pos, head_index, d_model].
     */
    public NDArray forward(NDArray queryInput, NDArray keyInput, NDArray valueInput, NDArray mask,
            boolean hasPadding, TransformerConfig cfg) {
        NDArray q = hookQ.fire(project(queryInput, wQ, bQ));
        NDArray k = hookK.fire(project(keyInput, wK, bK));
        NDArray v = hookV.fire(project(valueInput, wV, bV));
        return attend(q, k, v, mask, hasPadding, cfg);
    }

    private NDArray attend(NDArray q, NDArray k, NDArray v, NDArray mask, boolean hasPadding, TransformerConfig cfg) {
        NDArray scores = q.transpose(0, 2, 1, 3).matMul(k.transpose(0, 2, 3, 1)); // [batch, head, q_pos, k_pos]
        scores.divi(attnScale).addi(mask);
        scores = hookAttnScores.fire(scores);
        NDArray pattern = scores.softmax(-1);
        if (hasPadding) {
            // A query whose every key is masked gets NaN from softmax; TransformerLens makes it 0.
            pattern = NDArrays.where(pattern.isNaN(), pattern.zerosLike(), pattern);
        }
        pattern = hookPattern.fire(pattern);
        NDArray z = hookZ.fire(pattern.matMul(v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)); // [batch, pos, head, d_head]
        if (!cfg.useAttnResult()) {
            Shape shape = z.getShape();
            return z.reshape(shape.get(0), shape.get(1), (long) nHeads * dHead).matMul(wOFlat).addi(bO);
        }
        NDArray result = hookResult.fire(z.transpose(0, 2, 1, 3).matMul(wO).transpose(0, 2, 1, 3)); // [batch, pos, head, d_model]
        return result.sum(new int[] {2}).addi(bO);
    }

    /** input [batch, pos, head, d_model] · W [head, d_model, d_head] + b [head, d_head]. */
    private static NDArray project(NDArray input, NDArray w, NDArray b) {
        return input.transpose(0, 2, 1, 3).matMul(w).transpose(0, 2, 1, 3).add(b);
    }

    /** [head, d_model, d_head] → [d_model, head * d_head], the layout of one fused projection. */
    private static NDArray headsLast(NDArray w) {
        Shape s = w.getShape();
        return w.transpose(1, 0, 2).reshape(s.get(1), s.get(0) * s.get(2));
    }
}
