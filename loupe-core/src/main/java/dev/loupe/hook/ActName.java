package dev.loupe.hook;

import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The names of a block's hooks and parameters, as TransformerLens spells them.
 *
 * <p>A hook goes by {@link #of(String, int)}, TransformerLens's {@code utils.get_act_name}, which turns
 * shorthand into full hook names following its rules exactly so that a researcher's notes carry over:
 *
 * <pre>{@code
 * ActName.of("pattern", 3)        // blocks.3.attn.hook_pattern
 * ActName.of("resid_pre", 5)      // blocks.5.hook_resid_pre
 * ActName.of("scale", 4, "ln1")   // blocks.4.ln1.hook_scale
 * ActName.of("k6")                // blocks.6.attn.hook_k
 * ActName.of("embed")             // hook_embed
 * ActName.of("scale")             // ln_final.hook_scale
 * }</pre>
 *
 * <p>A block's parameters and sub-modules go by {@link #block(int, String)}, their path inside the block:
 *
 * <pre>{@code
 * ActName.block(3)                // blocks.3
 * ActName.block(1, "attn.W_O")    // blocks.1.attn.W_O
 * ActName.block(0, "ln2")         // blocks.0.ln2
 * }</pre>
 */
public final class ActName {
    private static final Pattern COMPACT = Pattern.compile("([a-z]+)(\\d+)([a-z]?.*)");
    private static final Map<String, String> NAME_ALIASES = Map.of(
            "attn", "pattern",
            "attn_logits", "attn_scores",
            "key", "k",
            "query", "q",
            "value", "v",
            "mlp_pre", "pre",
            "mlp_mid", "mid",
            "mlp_post", "post");
    private static final Set<String> ATTN_NAMES =
            Set.of("k", "v", "q", "z", "rot_k", "rot_q", "result", "pattern", "attn_scores");
    private static final Set<String> MLP_NAMES = Set.of("pre", "post", "mid", "pre_linear");
    private static final Map<String, String> LAYER_TYPE_ALIASES = Map.of(
            "a", "attn",
            "m", "mlp",
            "b", "",
            "block", "",
            "blocks", "",
            "attention", "attn");

    private ActName() {}

    /** A name without a layer: full names pass through unchanged, shorthand is expanded. */
    public static String of(String name) {
        return of(name, null, null);
    }

    /** {@code name} in block {@code layer}. */
    public static String of(String name, int layer) {
        return of(name, layer, null);
    }

    /** {@code name} in block {@code layer} of sub-module {@code layerType} ("ln1", "attn", "a", "m", …). */
    public static String of(String name, int layer, String layerType) {
        return of(name, Integer.valueOf(layer), layerType);
    }

    /** {@code blocks.<layer>}: the name of block {@code layer}, which its hooks and parameters start with. */
    public static String block(int layer) {
        return "blocks." + layer;
    }

    /**
     * {@code blocks.<layer>.<path>}: the parameter or sub-module at {@code path} in block {@code layer}
     * ({@code "attn.W_Q"}, {@code "mlp.b_out"}, {@code "ln1.w"}, {@code "attn"}). Hooks go by
     * {@link #of(String, int)}.
     */
    public static String block(int layer, String path) {
        return block(layer) + "." + path;
    }

    private static String of(String name, Integer layer, String layerType) {
        if ((name.contains(".") || name.startsWith("hook_")) && layer == null && layerType == null) {
            return name;
        }
        Matcher compact = COMPACT.matcher(name);
        if (compact.matches()) {
            name = compact.group(1);
            layer = Integer.parseInt(compact.group(2));
            layerType = compact.group(3);
        }
        name = NAME_ALIASES.getOrDefault(name, name);
        if (ATTN_NAMES.contains(name)) {
            layerType = "attn";
        } else if (MLP_NAMES.contains(name)) {
            layerType = "mlp";
        } else if (layerType != null) {
            layerType = LAYER_TYPE_ALIASES.getOrDefault(layerType, layerType);
        }
        StringBuilder full = new StringBuilder();
        if (layer != null) {
            full.append(block(layer)).append('.');
        }
        if (layerType != null && !layerType.isEmpty()) {
            full.append(layerType).append('.');
        }
        full.append("hook_").append(name);
        if ((name.equals("scale") || name.equals("normalized")) && layer == null) {
            return "ln_final." + full;
        }
        return full.toString();
    }
}
