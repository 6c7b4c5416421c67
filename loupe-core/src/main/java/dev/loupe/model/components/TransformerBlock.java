package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.hook.HookPoint;
import java.util.ArrayList;
import java.util.List;

/**
 * One transformer block, pre-norm: {@code resid_mid = resid_pre + attn(ln1(resid_pre))},
 * {@code resid_post = resid_mid + mlp(ln2(resid_mid))}. Parallel blocks (GPT-J, NeoX) add both
 * sub-layers to {@code resid_pre} and have no {@code hook_resid_mid}. With
 * {@code use_normalization_before_and_after} (Gemma 2 and 3) the outputs are normalised too before
 * they are added: {@code resid_mid = resid_pre + ln1_post(attn(ln1(resid_pre)))},
 * {@code resid_post = resid_mid + ln2_post(mlp(ln2(resid_mid)))}; with {@code use_normalization_after_only}
 * (OLMo 2) there is no {@code ln1}/{@code ln2}: {@code resid_mid = resid_pre + ln1_post(attn(resid_pre))},
 * {@code resid_post = resid_mid + ln2_post(mlp(resid_mid))}. {@code hook_attn_out} and {@code hook_mlp_out}
 * are after the post-norms.
 *
 * <p>Hook points (TransformerLens names under {@code blocks.L.}): {@code hook_resid_pre},
 * {@code hook_attn_out}, {@code hook_resid_mid}, {@code hook_mlp_out}, {@code hook_resid_post}
 * [batch, pos, d_model]; with flags {@code hook_attn_in}, {@code hook_q_input},
 * {@code hook_k_input}, {@code hook_v_input} [batch, pos, head_index, d_model] and
 * {@code hook_mlp_in} [batch, pos, d_model]; the post-norms' {@code ln1_post.hook_scale},
 * {@code ln2_post.hook_scale} [batch, pos, 1] and {@code ln1_post.hook_normalized},
 * {@code ln2_post.hook_normalized} [batch, pos, d_model].
 */
public final class TransformerBlock {
    private final int layer;
    private final Norm ln1;
    private final Norm ln2;
    private final Norm ln1Post; // null without norms after the sub-layers
    private final Norm ln2Post;
    private final Attention attn;
    private final FeedForward mlp;
    private final HookPoint hookAttnIn;
    private final HookPoint hookQInput;
    private final HookPoint hookKInput;
    private final HookPoint hookVInput;
    private final HookPoint hookMlpIn;
    private final HookPoint hookAttnOut;
    private final HookPoint hookMlpOut;
    private final HookPoint hookResidPre;
    private final HookPoint hookResidMid;
    private final HookPoint hookResidPost;

    public TransformerBlock(int layer, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        String name = ActName.block(layer);
        this.layer = layer;
        // Registration order is TransformerLens's: ln1, ln1_post, ln2, ln2_post, attn, mlp, then the block's own points.
        ln1 = cfg.hasPreNorms() ? Norm.create(cfg.normalizationType(), name + ".ln1", cfg, params, hooks, true) : null;
        ln1Post = cfg.hasPostNorms() ? Norm.create(cfg.postNormalizationType(), name + ".ln1_post", cfg, params, hooks, false)
                : null;
        ln2 = cfg.attnOnly() || !cfg.hasPreNorms() ? null
                : Norm.create(cfg.normalizationType(), name + ".ln2", cfg, params, hooks, false);
        ln2Post = cfg.hasPostNorms() ? Norm.create(cfg.postNormalizationType(), name + ".ln2_post", cfg, params, hooks, false)
                : null;
        attn = new Attention(name + ".attn", cfg, params, hooks);
        mlp = cfg.attnOnly() ? null : FeedForward.create(name + ".mlp", cfg, params, hooks);
        HookCatalog.ShapeRule perHead = (c, batch, pos) -> new Shape(batch, pos, c.nHeads(), c.dModel());
        HookCatalog.ShapeRule perKvHead = (c, batch, pos) -> new Shape(batch, pos, kvInputHeads(c), c.dModel());
        hookAttnIn = hooks.add(name + ".hook_attn_in", perHead, HookFlag.USE_ATTN_IN);
        hookQInput = hooks.add(name + ".hook_q_input", perHead, HookFlag.USE_SPLIT_QKV_INPUT);
        hookKInput = hooks.add(name + ".hook_k_input", perKvHead, HookFlag.USE_SPLIT_QKV_INPUT);
        hookVInput = hooks.add(name + ".hook_v_input", perKvHead, HookFlag.USE_SPLIT_QKV_INPUT);
        hookMlpIn = cfg.attnOnly() ? null : hooks.add(name + ".hook_mlp_in", HookCatalog::residual, HookFlag.USE_HOOK_MLP_IN);
        hookAttnOut = hooks.add(name + ".hook_attn_out", HookCatalog::residual);
        // TransformerLens registers hook_mlp_out in an attention-only block too, but it never fires there.
        hookMlpOut = cfg.attnOnly() ? null : hooks.add(name + ".hook_mlp_out", HookCatalog::residual);
        hookResidPre = hooks.add(name + ".hook_resid_pre", HookCatalog::residual);
        hookResidMid = cfg.hasResidMid() ? hooks.add(name + ".hook_resid_mid", HookCatalog::residual) : null;
        hookResidPost = hooks.add(name + ".hook_resid_post", HookCatalog::residual);
    }

    /**
     * @param residPre [batch, pos, d_model]
     * @param inputs the pass's masks, rotary angles and ALiBi biases
     * @param cfg the model's current config (its hook flags may change between runs)
     * @return resid_post [batch, pos, d_model]
     */
    public NDArray forward(NDArray residPre, AttentionInputs inputs, TransformerConfig cfg) {
        residPre = hookResidPre.fire(residPre);
        NDArray attnOut = hookAttnOut.fire(norm(ln1Post, attention(residPre, inputs, cfg)));
        if (cfg.attnOnly()) {
            return hookResidPost.fire(residPre.add(attnOut));
        }
        if (cfg.parallelAttnMlp()) {
            NDArray mlpOut = hookMlpOut.fire(mlp.forward(norm(ln2, mlpIn(residPre, cfg))));
            return hookResidPost.fire(residPre.add(attnOut).addi(mlpOut));
        }
        NDArray residMid = hookResidMid.fire(residPre.add(attnOut));
        NDArray mlpOut = hookMlpOut.fire(norm(ln2Post, mlp.forward(norm(ln2, mlpIn(residMid, cfg)))));
        return hookResidPost.fire(residMid.add(mlpOut));
    }

    private NDArray attention(NDArray residPre, AttentionInputs inputs, TransformerConfig cfg) {
        NDArray mask = inputs.mask(cfg, layer);
        if (!cfg.useAttnIn() && !cfg.useSplitQkvInput()) {
            return attn.forward(norm(ln1, residPre), mask, inputs, cfg, layer);
        }
        NDArray attnIn = cfg.useAttnIn() ? hookAttnIn.fire(perHead(residPre, cfg.nHeads())) : null;
        if (!cfg.useSplitQkvInput()) {
            NDArray normalized = norm(ln1, attnIn);
            return attn.forward(normalized, normalized, normalized, mask, inputs, cfg, layer);
        }
        NDArray queryInput = hookQInput.fire(perHead(residPre, cfg.nHeads()));
        NDArray keyInput = hookKInput.fire(perHead(residPre, kvInputHeads(cfg)));
        NDArray valueInput = hookVInput.fire(perHead(residPre, kvInputHeads(cfg)));
        return attn.forward(norm(ln1, queryInput), norm(ln1, keyInput), norm(ln1, valueInput), mask, inputs, cfg, layer);
    }

    /** Heads of {@code hook_k_input}/{@code hook_v_input}: the key/value heads unless ungrouped. */
    private static int kvInputHeads(TransformerConfig cfg) {
        return cfg.ungroupGroupedQueryAttention() ? cfg.nHeads() : cfg.kvHeads();
    }

    private NDArray mlpIn(NDArray resid, TransformerConfig cfg) {
        return cfg.useHookMlpIn() ? hookMlpIn.fire(resid.duplicate()) : resid;
    }

    /** [batch, pos, d_model] → [batch, pos, head_index, d_model], one independent copy per head. */
    private static NDArray perHead(NDArray resid, int heads) {
        return resid.expandDims(2).repeat(2, heads);
    }

    /** The parameters a forward pass widens for the whole block when they are float16 (see {@link FeedForward#weights}). */
    public List<Weight> weights() {
        List<Weight> weights = new ArrayList<>(attn.weights());
        for (Norm norm : new Norm[] {ln1, ln1Post, ln2, ln2Post}) {
            if (norm != null) {
                weights.addAll(norm.weights());
            }
        }
        if (mlp != null) {
            weights.addAll(mlp.weights());
        }
        return weights;
    }

    private static NDArray norm(Norm ln, NDArray x) {
        return ln == null ? x : ln.forward(x);
    }
}
