package dev.loupe.server.explore;

/** Which activation an ablation replaces, and at which hook point. */
public enum AblationTarget {
    /** One head's output: its slice of {@code blocks.L.attn.hook_z} [batch, pos, head_index, d_head]. */
    HEAD("attn.hook_z"),
    /** A layer's MLP output, {@code blocks.L.hook_mlp_out} [batch, pos, d_model]. */
    MLP("hook_mlp_out"),
    /** The residual stream entering block L at one position, {@code blocks.L.hook_resid_pre} [batch, pos, d_model]. */
    RESID("hook_resid_pre");

    private final String hook;

    AblationTarget(String hook) {
        this.hook = hook;
    }

    /** The hook point's name in block {@code layer}. */
    public String hookName(int layer) {
        return "blocks." + layer + "." + hook;
    }
}
