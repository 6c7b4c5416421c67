package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import java.util.List;

/**
 * The RMSNorm of queries or keys ({@code attn.q_norm}, {@code attn.k_norm}) between their projection
 * ({@code hook_q}/{@code hook_k}) and the rotary embedding, with {@code use_qk_norm}:
 * {@code x / sqrt(mean(x²) + eps) · w}. Two layouts, as the architectures have them:
 * <ul>
 *   <li>per head (Gemma 3, Qwen3): each head's vector is normalised over d_head, weight {@code w}
 *       [d_head] shared by every head; as TransformerLens, the hooks see the heads as rows,
 *       {@code hook_scale} [batch·pos·heads, 1] and {@code hook_normalized} [batch·pos·heads, d_head];</li>
 *   <li>across heads ({@code qk_norm_across_heads}, OLMo 2; Loupe's names): each position's whole
 *       projection is normalised at once, weight {@code w} [heads·d_head]; {@code hook_scale}
 *       [batch, pos, 1] and {@code hook_normalized} [batch, pos, heads·d_head].</li>
 * </ul>
 * {@code heads} is n_heads for q_norm and n_key_value_heads for k_norm (n_heads when keys are ungrouped
 * before {@code hook_k}). Gemma 3's {@code 1 + w} is stored as {@code w + 1} at load.
 */
public final class QkNorm {
    private final Weight w; // [d_head] per head, [stored heads · d_head] across heads
    private final boolean acrossHeads;
    private final int dHead;
    private final float eps;
    private final HookPoint hookScale;
    private final HookPoint hookNormalized;

    /**
     * @param name the module's TransformerLens name, e.g. {@code blocks.0.attn.q_norm}
     * @param keys whether it normalises keys (their heads are the key/value heads)
     */
    public QkNorm(String name, boolean keys, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        this.acrossHeads = cfg.qkNormAcrossHeads();
        this.dHead = cfg.dHead();
        this.eps = (float) cfg.eps();
        int storedHeads = keys ? cfg.kvHeads() : cfg.nHeads();
        this.w = params.weight(name + ".w", acrossHeads ? (long) storedHeads * dHead : dHead);
        hookScale = hooks.add(name + ".hook_scale", (c, batch, pos) -> acrossHeads ? new Shape(batch, pos, 1)
                : new Shape(batch * pos * heads(c, keys), 1));
        hookNormalized = hooks.add(name + ".hook_normalized", (c, batch, pos) -> acrossHeads
                ? new Shape(batch, pos, (long) heads(c, keys) * c.dHead())
                : new Shape(batch * pos * heads(c, keys), c.dHead()));
    }

    /** The heads the hooks see: key/value heads, or query heads for queries and ungrouped keys. */
    private static int heads(TransformerConfig c, boolean keys) {
        return keys && !c.ungroupGroupedQueryAttention() ? c.kvHeads() : c.nHeads();
    }

    /** x [batch, pos, heads, d_head] → the same, normalised. */
    public NDArray forward(NDArray x) {
        Shape shape = x.getShape();
        long heads = shape.get(2);
        NDArray rows = acrossHeads ? x.reshape(shape.get(0), shape.get(1), heads * dHead) : x.reshape(-1, dHead);
        NDArray scale = hookScale.fire(rows.square().mean(new int[] {-1}, true).addi(eps).sqrt());
        NDArray normalized = hookNormalized.fire(rows.div(scale));
        return normalized.mul(weight(heads, x.getManager())).reshape(shape);
    }

    /**
     * The weight for {@code heads} heads: ungrouped keys repeat each key/value head's part, as their
     * values are (the scale is unchanged, each head being repeated equally often).
     */
    private NDArray weight(long heads, NDManager pass) {
        NDArray value = w.value();
        long stored = value.getShape().get(0) / dHead;
        if (!acrossHeads || heads == stored) {
            return value;
        }
        // Copied into the pass's manager first: an op that starts from a weight would land in the weights'.
        return value.get(pass, new NDIndex()).reshape(stored, dHead).repeat(0, heads / stored).reshape(heads * dHead);
    }

    /** Its parameter. */
    public List<Weight> weights() {
        return List.of(w);
    }
}
