package dev.loupe.analysis.patching;

import static dev.loupe.analysis.patching.Axis.DEST_POS;
import static dev.loupe.analysis.patching.Axis.HEAD;
import static dev.loupe.analysis.patching.Axis.LAYER;
import static dev.loupe.analysis.patching.Axis.POS;
import static dev.loupe.analysis.patching.Axis.SRC_POS;

import ai.djl.ndarray.NDArray;
import dev.loupe.cache.ActivationCache;
import dev.loupe.model.HookedTransformer;
import java.util.List;

/**
 * TransformerLens's {@code get_act_patch_*} functions: an activation, the axes swept and the setter.
 * The result of {@link #run} has one dimension per axis, in order:
 *
 * <pre>
 * RESID_PRE, RESID_MID, ATTN_OUT, MLP_OUT                          [n_layers, pos]
 * ATTN_HEAD_{OUT,Q,K,V}_BY_POS                                     [n_layers, pos, n_heads]   (K, V: n_key_value_heads)
 * ATTN_HEAD_{OUT,Q,K,V}_ALL_POS, ATTN_HEAD_PATTERN_ALL_POS         [n_layers, n_heads]        (K, V: n_key_value_heads)
 * ATTN_HEAD_PATTERN_BY_POS                                         [n_layers, n_heads, dest_pos]
 * ATTN_HEAD_PATTERN_DEST_SRC_POS                                   [n_layers, n_heads, dest_pos, src_pos]
 * </pre>
 */
public enum PatchFamily {
    /** {@code get_act_patch_resid_pre}: the residual stream entering each block, by position. */
    RESID_PRE("resid_pre", PatchSetters.LAYER_POS, LAYER, POS),
    /** {@code get_act_patch_resid_mid}: the residual stream between attention and MLP, by position. */
    RESID_MID("resid_mid", PatchSetters.LAYER_POS, LAYER, POS),
    /** {@code get_act_patch_attn_out}: each attention layer's output, by position. */
    ATTN_OUT("attn_out", PatchSetters.LAYER_POS, LAYER, POS),
    /** {@code get_act_patch_mlp_out}: each MLP's output, by position. */
    MLP_OUT("mlp_out", PatchSetters.LAYER_POS, LAYER, POS),
    /** {@code get_act_patch_attn_head_out_by_pos}: each head's {@code z}, by position. */
    ATTN_HEAD_OUT_BY_POS("z", PatchSetters.LAYER_POS_HEAD_VECTOR, LAYER, POS, HEAD),
    /** {@code get_act_patch_attn_head_q_by_pos}. */
    ATTN_HEAD_Q_BY_POS("q", PatchSetters.LAYER_POS_HEAD_VECTOR, LAYER, POS, HEAD),
    /** {@code get_act_patch_attn_head_k_by_pos} (key heads). */
    ATTN_HEAD_K_BY_POS("k", PatchSetters.LAYER_POS_HEAD_VECTOR, LAYER, POS, HEAD),
    /** {@code get_act_patch_attn_head_v_by_pos} (value heads). */
    ATTN_HEAD_V_BY_POS("v", PatchSetters.LAYER_POS_HEAD_VECTOR, LAYER, POS, HEAD),
    /** {@code get_act_patch_attn_head_pattern_by_pos}: each head's pattern row, by destination position. */
    ATTN_HEAD_PATTERN_BY_POS("pattern", PatchSetters.LAYER_HEAD_POS_PATTERN, LAYER, HEAD, DEST_POS),
    /** {@code get_act_patch_attn_head_pattern_dest_src_pos}: each single pattern entry. */
    ATTN_HEAD_PATTERN_DEST_SRC_POS("pattern", PatchSetters.LAYER_HEAD_DEST_SRC_POS_PATTERN,
            LAYER, HEAD, DEST_POS, SRC_POS),
    /** {@code get_act_patch_attn_head_out_all_pos}: each head's {@code z} at every position at once. */
    ATTN_HEAD_OUT_ALL_POS("z", PatchSetters.LAYER_HEAD_VECTOR, LAYER, HEAD),
    /** {@code get_act_patch_attn_head_q_all_pos}. */
    ATTN_HEAD_Q_ALL_POS("q", PatchSetters.LAYER_HEAD_VECTOR, LAYER, HEAD),
    /** {@code get_act_patch_attn_head_k_all_pos} (key heads). */
    ATTN_HEAD_K_ALL_POS("k", PatchSetters.LAYER_HEAD_VECTOR, LAYER, HEAD),
    /** {@code get_act_patch_attn_head_v_all_pos} (value heads). */
    ATTN_HEAD_V_ALL_POS("v", PatchSetters.LAYER_HEAD_VECTOR, LAYER, HEAD),
    /** {@code get_act_patch_attn_head_pattern_all_pos}: each head's whole pattern. */
    ATTN_HEAD_PATTERN_ALL_POS("pattern", PatchSetters.LAYER_HEAD_PATTERN, LAYER, HEAD);

    private final String activationName;
    private final PatchSetter setter;
    private final List<Axis> axes;

    PatchFamily(String activationName, PatchSetter setter, Axis... axes) {
        this.activationName = activationName;
        this.setter = setter;
        this.axes = List.of(axes);
    }

    /** The {@code ActName} shorthand patched ({@code "resid_pre"}, {@code "z"}, …). */
    public String activationName() {
        return activationName;
    }

    public PatchSetter setter() {
        return setter;
    }

    public List<Axis> axes() {
        return axes;
    }

    /** The sweep with default options; see {@link Patching#generic}. */
    public NDArray run(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric) {
        return run(model, corruptedTokens, cleanCache, metric, PatchOptions.defaults());
    }

    /** The sweep with {@code options}. */
    public NDArray run(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric, PatchOptions options) {
        return Patching.generic(model, corruptedTokens, cleanCache, metric, activationName, axes, setter, options);
    }
}
