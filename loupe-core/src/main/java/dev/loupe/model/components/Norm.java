package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.TransformerConfig;
import java.util.List;

/**
 * A normalisation over the last axis, with TransformerLens's {@code hook_scale} [..., 1] and
 * {@code hook_normalized} [..., d_model] (taken before any weight).
 */
public sealed interface Norm permits LayerNorm, RmsNorm {

    /** x [..., d_model] → [..., d_model]. */
    NDArray forward(NDArray x);

    /** Its parameters (none for the Pre variants). */
    List<Weight> weights();

    /**
     * The norm {@code type} called {@code name}: a {@link LayerNorm} or {@link RmsNorm}, with weights
     * unless a Pre type, or null for {@code NONE}.
     *
     * @param takesHeadInputs whether its input carries a head dimension when {@code use_split_qkv_input}
     *     or {@code use_attn_in} is on (ln1)
     */
    static Norm create(NormalizationType type, String name, TransformerConfig cfg, Parameters params, HookCatalog hooks,
            boolean takesHeadInputs) {
        return switch (type) {
            case LN, LN_PRE -> new LayerNorm(name, type.hasWeights(), cfg, params, hooks, takesHeadInputs);
            case RMS, RMS_PRE -> new RmsNorm(name, type.hasWeights(), cfg, params, hooks, takesHeadInputs);
            case NONE -> null;
        };
    }

    /** The shape of a norm's hooks: [batch, pos, last], with a head axis for split inputs. */
    static Shape hookShape(TransformerConfig c, boolean takesHeadInputs, long batch, long pos, long last) {
        boolean heads = takesHeadInputs && (c.useSplitQkvInput() || c.useAttnIn());
        return heads ? new Shape(batch, pos, c.nHeads(), last) : new Shape(batch, pos, last);
    }
}
