package dev.loupe.server.explore;

import dev.loupe.analysis.patching.PatchFamily;

/** The activations a patching map can patch, each one of TransformerLens's {@code get_act_patch_*} sweeps. */
public enum PatchTarget {
    /** The residual stream entering each block: [n_layers, pos]. */
    RESID_PRE(PatchFamily.RESID_PRE, "blocks\\.\\d+\\.hook_resid_pre"),
    /** Each attention layer's output: [n_layers, pos]. */
    ATTN_OUT(PatchFamily.ATTN_OUT, "blocks\\.\\d+\\.hook_attn_out"),
    /** Each MLP's output: [n_layers, pos]. */
    MLP_OUT(PatchFamily.MLP_OUT, "blocks\\.\\d+\\.hook_mlp_out"),
    /** Each head's output at every position at once: [n_layers, n_heads]. */
    HEADS(PatchFamily.ATTN_HEAD_OUT_ALL_POS, "blocks\\.\\d+\\.attn\\.hook_z");

    private final PatchFamily family;
    private final String cached;

    PatchTarget(PatchFamily family, String cached) {
        this.family = family;
        this.cached = cached;
    }

    /** The sweep. */
    public PatchFamily family() {
        return family;
    }

    /** The hooks the clean run must cache for it (a regex). */
    public String cachedHooks() {
        return cached;
    }
}
