package dev.loupe.sae;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The model hook point an SAE's {@code metadata.hook_name} names. Almost always the name itself; the exception is
 * {@code blocks.{l}.mlp.hook_in}, a point SAELens's {@code HookedSAETransformer} adds in front of each MLP (for
 * circuit-tracer's transcoders) and TransformerLens does not have. The MLP's input is the second norm's output,
 * so Loupe reads and replaces {@code blocks.{l}.ln2.hook_normalized}, the same activation [batch, pos, d_model].
 */
public final class SaeHookPoint {
    private static final Pattern MLP_IN = Pattern.compile("blocks\\.(\\d+)\\.mlp\\.hook_in");

    private SaeHookPoint() {}

    /** {@code hookName} as a hook point of Loupe's model ({@code blocks.3.mlp.hook_in → blocks.3.ln2.hook_normalized}). */
    public static String of(String hookName) {
        if (hookName == null) {
            return null;
        }
        Matcher m = MLP_IN.matcher(hookName);
        return m.matches() ? "blocks." + m.group(1) + ".ln2.hook_normalized" : hookName;
    }
}
