package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.PositionalEmbeddingType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import dev.loupe.numeric.Scalars;
import java.util.ArrayList;
import java.util.List;

/**
 * Causal multi-head self-attention with TransformerLens's parameters: {@code W_Q} [n_heads, d_model,
 * d_head], {@code W_K}/{@code W_V} (grouped-query attention: {@code _W_K}/{@code _W_V}
 * [n_key_value_heads, d_model, d_head]), biases {@code b_Q} [n_heads, d_head], {@code b_K}/{@code b_V}
 * (or {@code _b_K}/{@code _b_V}), {@code W_O} [n_heads, d_head, d_model], {@code b_O} [d_model].
 *
 * <p>Hooks, in firing order: {@code hook_q} [batch, pos, head_index, d_head], {@code hook_k} and
 * {@code hook_v} [batch, pos, kv_head_index, d_head]; with {@code use_qk_norm} the hooks of
 * {@code q_norm} and {@code k_norm} (see {@link QkNorm}); with rotary embeddings {@code hook_rot_q} and
 * {@code hook_rot_k} (after the norms and the rotation); {@code hook_attn_scores} and {@code hook_pattern}
 * [batch, head_index, query_pos, key_pos] (scores after the scale and any soft-cap; masked scores are
 * exactly -inf); {@code hook_z} [batch, pos, head_index, d_head]; and with {@code use_attn_result}
 * {@code hook_result} [batch, pos, head_index, d_model] (without b_O).
 *
 * <p>Scores are {@code q·k / attn_scale}, soft-capped to {@code cap·tanh(scores/cap)} when
 * {@code attn_scores_soft_cap} is set (Gemma 2), then masked: causal, and on local layers limited to
 * the last {@code window_size} positions.
 */
public final class Attention {
    private static final long FUSED_COPY_LIMIT_BYTES = 512L << 20; // for every layer's together
    private final int nHeads;
    private final int kvHeads;
    private final int dHead;
    private final Scalars.Constant attnScale;
    private final float softCap; // ≤ 0: none
    private final QkNorm qNorm; // null without use_qk_norm
    private final QkNorm kNorm;
    private final Weight wQ;
    private final Weight wK;
    private final Weight wV;
    private final Weight bQ;
    private final Weight bK;
    private final Weight bV;
    private final Weight wO;
    private final Weight bO;
    // Derived at construction so that one GEMM computes q, k and v for every head:
    private final Weight bQkv; // [(n_heads + 2 * n_kv_heads) * d_head]
    // x·W_qkv + bQkv, W_qkv [d_model, (n_heads + 2 * n_kv_heads) * d_head], a copy of W_Q, W_K, W_V stored beside
    // them; null for float16 weights and for large models, whose three projections run as batched products instead.
    private final Affine qkvProjection;
    private final Affine outProjection; // z·W_O + b_O, W_O viewed as [n_heads * d_head, d_model]
    // The query, key and value columns of the fused projection, built once: parsing an index costs
    // more than taking the slice.
    private final NDIndex qColumns;
    private final NDIndex kColumns;
    private final NDIndex vColumns;
    private final HookPoint hookK;
    private final HookPoint hookQ;
    private final HookPoint hookV;
    private final HookPoint hookZ;
    private final HookPoint hookAttnScores;
    private final HookPoint hookPattern;
    private final HookPoint hookResult;
    private final HookPoint hookRotK;
    private final HookPoint hookRotQ;

    /** @param name the module's TransformerLens name, e.g. {@code blocks.0.attn} */
    public Attention(String name, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        this.nHeads = cfg.nHeads();
        this.kvHeads = cfg.kvHeads();
        this.dHead = cfg.dHead();
        long qWidth = (long) nHeads * dHead;
        long kvWidth = (long) kvHeads * dHead;
        this.qColumns = new NDIndex().addAllDim(2).addSliceDim(0, qWidth);
        this.kColumns = new NDIndex().addAllDim(2).addSliceDim(qWidth, qWidth + kvWidth);
        this.vColumns = new NDIndex().addAllDim(2).addSliceDim(qWidth + kvWidth, qWidth + 2 * kvWidth);
        this.attnScale = Scalars.constant(cfg.useAttnScale() ? (float) cfg.attnScale() : 1f);
        this.softCap = (float) cfg.attnScoresSoftCap();
        // Registered before the attention's own hooks, as TransformerLens registers its sub-modules.
        qNorm = cfg.useQkNorm() ? new QkNorm(name + ".q_norm", false, cfg, params, hooks) : null;
        kNorm = cfg.useQkNorm() ? new QkNorm(name + ".k_norm", true, cfg, params, hooks) : null;
        int d = cfg.dModel();
        String kv = cfg.groupedQueryAttention() ? "._" : ".";
        wQ = params.weight(name + ".W_Q", nHeads, d, dHead);
        wK = params.weight(name + kv + "W_K", kvHeads, d, dHead);
        wV = params.weight(name + kv + "W_V", kvHeads, d, dHead);
        bQ = params.weight(name + ".b_Q", nHeads, dHead);
        bK = params.weight(name + kv + "b_K", kvHeads, dHead);
        bV = params.weight(name + kv + "b_V", kvHeads, dHead);
        wO = params.weight(name + ".W_O", nHeads, dHead, d);
        bO = params.weight(name + ".b_O", d);
        bQkv = Weight.of(NDArrays.concat(new NDList(bQ.stored().reshape(-1), bK.stored().reshape(-1),
                bV.stored().reshape(-1)), 0));
        qkvProjection = storesFusedCopy(cfg, wQ) ? new Affine(fuse(wQ.stored(), wK.stored(), wV.stored()), bQkv) : null;
        outProjection = new Affine(wO.stored().reshape((long) nHeads * dHead, d), bO);

        HookCatalog.ShapeRule perHead = (c, batch, pos) -> new Shape(batch, pos, c.nHeads(), c.dHead());
        HookCatalog.ShapeRule perKvHead = (c, batch, pos) -> new Shape(batch, pos,
                c.ungroupGroupedQueryAttention() ? c.nHeads() : c.kvHeads(), c.dHead());
        HookCatalog.ShapeRule scores = (c, batch, pos) -> new Shape(batch, c.nHeads(), pos, pos);
        hookK = hooks.add(name + ".hook_k", perKvHead);
        hookQ = hooks.add(name + ".hook_q", perHead);
        hookV = hooks.add(name + ".hook_v", perKvHead);
        hookZ = hooks.add(name + ".hook_z", perHead);
        hookAttnScores = hooks.add(name + ".hook_attn_scores", scores);
        hookPattern = hooks.add(name + ".hook_pattern", scores);
        hookResult = hooks.add(name + ".hook_result",
                (c, batch, pos) -> new Shape(batch, pos, c.nHeads(), c.dModel()), HookFlag.USE_ATTN_RESULT);
        boolean rotary = cfg.positionalEmbeddingType() == PositionalEmbeddingType.ROTARY;
        hookRotK = rotary ? hooks.add(name + ".hook_rot_k", perKvHead) : null;
        hookRotQ = rotary ? hooks.add(name + ".hook_rot_q", perHead) : null;
    }

    /**
     * Attention over one shared, normalised input x [batch, pos, d_model] → [batch, pos, d_model].
     *
     * @param mask this layer's additive mask, see {@link AttentionInputs} (null: it hides nothing)
     */
    public NDArray forward(NDArray x, NDArray mask, AttentionInputs inputs, TransformerConfig cfg, int layer) {
        Shape shape = x.getShape();
        long batch = shape.get(0);
        long pos = shape.get(1);
        NDArray qkv = project(x); // [batch, pos, (n_heads + 2 * n_kv_heads) * d_head]
        NDArray q = hookQ.fire(qkv.get(qColumns).reshape(batch, pos, nHeads, dHead));
        NDArray k = hookK.fire(ungroup(qkv.get(kColumns)
                .reshape(batch, pos, kvHeads, dHead), cfg));
        NDArray v = hookV.fire(ungroup(qkv.get(vColumns)
                .reshape(batch, pos, kvHeads, dHead), cfg));
        return attend(q, k, v, mask, inputs, cfg, layer);
    }

    /**
     * Attention over separate, normalised inputs per head ({@code use_split_qkv_input} or
     * {@code use_attn_in}): queries [batch, pos, head_index, d_model], keys and values
     * [batch, pos, kv_head_index, d_model].
     */
    public NDArray forward(NDArray queryInput, NDArray keyInput, NDArray valueInput, NDArray mask,
            AttentionInputs inputs, TransformerConfig cfg, int layer) {
        NDArray q = hookQ.fire(project(queryInput, wQ.value(), bQ.value()));
        NDArray k = hookK.fire(ungroup(project(keyInput, wK.value(), bK.value()), cfg));
        NDArray v = hookV.fire(ungroup(project(valueInput, wV.value(), bV.value()), cfg));
        return attend(q, k, v, mask, inputs, cfg, layer);
    }

    private NDArray attend(NDArray q, NDArray k, NDArray v, NDArray mask, AttentionInputs inputs,
            TransformerConfig cfg, int layer) {
        if (qNorm != null) {
            q = qNorm.forward(q);
            k = kNorm.forward(k);
        }
        Rotary rotary = inputs.rotary(cfg, layer);
        if (rotary != null) {
            q = hookRotQ.fire(rotary.apply(q));
            k = rotary.apply(k);
        }
        if (inputs.cache() != null) {
            // Cached keys were rotated at their own positions, so rotating only the new ones is exact.
            NDArray[] all = inputs.cache().append(layer, k, v);
            k = all[0];
            v = all[1];
        }
        if (rotary != null) {
            // As in TransformerLens, hook_rot_k sees every key, cached ones included, and what a hook
            // changes there is not stored in the cache: it gets a copy, never the cache's buffer.
            k = hookRotK.fire(inputs.cache() != null && hookRotK.hasHooks() ? k.duplicate() : k);
        }
        NDArray keys = repeatKv(k);
        NDArray values = repeatKv(v);
        NDArray scores = q.transpose(0, 2, 1, 3).matMul(keys.transpose(0, 2, 3, 1)); // [batch, head, q_pos, k_pos]
        scores.divi(attnScale.like(scores)); // a kept scalar: autograd saves the divisor, see Scalars
        if (softCap > 0) {
            scores = Scalars.muli(Scalars.divi(scores, softCap).tanh(), softCap);
        }
        if (inputs.alibi() != null) {
            scores.addi(inputs.alibi());
        }
        scores = hookAttnScores.fire(mask == null ? scores : scores.addi(mask));
        NDArray pattern = scores.softmax(-1);
        if (inputs.hasPadding()) {
            // A query whose every key is masked gets NaN from softmax; TransformerLens makes it 0.
            pattern = NDArrays.where(pattern.isNaN(), pattern.zerosLike(), pattern);
        }
        pattern = hookPattern.fire(pattern);
        NDArray z = hookZ.fire(pattern.matMul(values.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)); // [batch, pos, head, d_head]
        if (!cfg.useAttnResult()) {
            Shape shape = z.getShape();
            return outProjection.apply(z.reshape(shape.get(0), shape.get(1), (long) nHeads * dHead));
        }
        // [batch, pos, head, d_model]
        NDArray result = hookResult.fire(z.transpose(0, 2, 1, 3).matMul(wO.value()).transpose(0, 2, 1, 3));
        return result.sum(new int[] {2}).addi(bO.value());
    }

    /** Its parameters, and the fused forms derived from them. */
    public List<Weight> weights() {
        List<Weight> weights = new ArrayList<>(List.of(wQ, wK, wV, bQ, bK, bV, wO, bO, bQkv, outProjection.weight()));
        if (qkvProjection != null) {
            weights.add(qkvProjection.weight());
        }
        if (qNorm != null) {
            weights.addAll(qNorm.weights());
            weights.addAll(kNorm.weights());
        }
        return weights;
    }

    /** Keys or values [batch, pos, kv_heads, d_head] shared by groups of query heads → one per query head. */
    private NDArray repeatKv(NDArray x) {
        long heads = x.getShape().get(2);
        return heads == nHeads ? x : x.repeat(2, nHeads / heads);
    }

    /** With {@code ungroup_grouped_query_attention}, keys and values get a head per query head before their hooks. */
    private NDArray ungroup(NDArray x, TransformerConfig cfg) {
        return cfg.ungroupGroupedQueryAttention() ? repeatKv(x) : x;
    }

    /**
     * input [batch, pos, head, d_model] · W [head, d_model, d_head] + b [head, d_head]; ungrouped key
     * or value inputs have a head per query head, so the shared weights are repeated to match.
     */
    private static NDArray project(NDArray input, NDArray w, NDArray b) {
        long inputHeads = input.getShape().get(2);
        long weightHeads = w.getShape().get(0);
        if (inputHeads != weightHeads) {
            // Gathered into the pass's manager: an op that starts from a weight would land in the weights'.
            NDArray groupOfHead = input.getManager().arange(inputHeads).divi(inputHeads / weightHeads);
            w = w.get(input.getManager(), new NDIndex("{}", groupOfHead));
            b = b.get(input.getManager(), new NDIndex("{}", groupOfHead));
        }
        return input.transpose(0, 2, 1, 3).matMul(w).transpose(0, 2, 1, 3).add(b);
    }

    /**
     * Whether to keep a fused copy of W_Q, W_K, W_V: one product for the three projections pays where matrices
     * are small (GPT-2 small: 85 MB for every layer), but the copy adds a tenth to a model's memory (Gemma-2-2B:
     * 0.98 GB), where products are large enough to run as fast apart. Float16 weights are widened each pass, and
     * would have to be fused each pass too, so they never are.
     */
    private static boolean storesFusedCopy(TransformerConfig cfg, Weight wQ) {
        long width = (long) (cfg.nHeads() + 2 * cfg.kvHeads()) * cfg.dHead();
        return !wQ.isHalf() && cfg.nLayers() * cfg.dModel() * width * Float.BYTES <= FUSED_COPY_LIMIT_BYTES;
    }

    /**
     * x·W_qkv + b_qkv [batch, pos, (n_heads + 2 * n_kv_heads) * d_head]: from the fused copy, or with every head's
     * projection as one batched product x [1, batch·pos, d_model] · W [head, d_model, d_head], which reads the
     * weights where they are.
     */
    private NDArray project(NDArray x) {
        if (qkvProjection != null) {
            return qkvProjection.apply(x);
        }
        Shape shape = x.getShape();
        NDArray rows = x.reshape(1, shape.get(0) * shape.get(1), shape.get(2));
        NDArray perHead = NDArrays.concat(new NDList(rows.matMul(wQ.value()), rows.matMul(wK.value()),
                rows.matMul(wV.value())), 0); // [n_heads + 2 * n_kv_heads, batch·pos, d_head]
        return perHead.transpose(1, 0, 2).reshape(shape.get(0), shape.get(1), -1).addi(bQkv.value());
    }

    /** W_Q, W_K, W_V as one matrix [d_model, (n_heads + 2 * n_kv_heads) * d_head], heads last. */
    private static NDArray fuse(NDArray wQ, NDArray wK, NDArray wV) {
        return NDArrays.concat(new NDList(headsLast(wQ), headsLast(wK), headsLast(wV)), 1);
    }

    /** [head, d_model, d_head] → [d_model, head * d_head], the layout of one fused projection. */
    private static NDArray headsLast(NDArray w) {
        Shape s = w.getShape();
        return w.transpose(1, 0, 2).reshape(s.get(1), s.get(0) * s.get(2));
    }
}
