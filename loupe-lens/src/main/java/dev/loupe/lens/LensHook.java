package dev.loupe.lens;

import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import java.util.Locale;

/** The residual stream hook a lens reads at each layer. */
public enum LensHook {
    /** {@code blocks.i.hook_resid_pre}: what enters block i (0 = the embeddings); the Python library's layers. */
    RESID_PRE("resid_pre"),
    /** {@code blocks.i.hook_resid_mid}: after block i's attention, before its MLP (not for parallel blocks). */
    RESID_MID("resid_mid");

    private final String key;

    LensHook(String key) {
        this.key = key;
    }

    /** The name in a lens's config.json and in TransformerLens's {@code ActName}, e.g. {@code resid_pre}. */
    public String key() {
        return key;
    }

    /** The hook point read at {@code layer}, e.g. {@code blocks.3.hook_resid_pre}. */
    public String hookName(int layer) {
        return ActName.of(key, layer);
    }

    /** Throws unless models like {@code config} fire this hook. */
    public void checkSupported(TransformerConfig config) {
        if (this == RESID_MID && !config.hasResidMid()) {
            throw new LoupeException("This model has no resid_mid (its blocks are parallel or attention-only), so a"
                    + " lens cannot read it; use resid_pre");
        }
    }

    /** Parses {@code resid_pre} / {@code resid_mid}. */
    public static LensHook fromKey(String key) {
        for (LensHook hook : values()) {
            if (hook.key.equals(key.toLowerCase(Locale.ROOT))) {
                return hook;
            }
        }
        throw new LoupeException("Unknown lens hook '" + key + "'; use resid_pre or resid_mid");
    }
}
