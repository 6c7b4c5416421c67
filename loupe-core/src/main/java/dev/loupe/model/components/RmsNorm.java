package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import java.util.List;

/**
 * RMSNorm ({@code RMS}: weight {@code w} [d_model]) and RMSNormPre ({@code RMSPre}: without it):
 * {@code x / sqrt(mean(x²) + eps) · w}. Fires {@code hook_scale} [..., 1] and {@code hook_normalized}
 * [..., d_model] (before the weight). Gemma's {@code (1 + w)} is stored as {@code w + 1} at load.
 */
public final class RmsNorm implements Norm {
    private final Weight w;
    private final float eps;
    private final HookPoint hookScale;
    private final HookPoint hookNormalized;

    /**
     * @param name the module's TransformerLens name
     * @param affine whether it has a weight ({@code RMS}) or not ({@code RMSPre})
     * @param takesHeadInputs see {@link Norm#create}
     */
    public RmsNorm(String name, boolean affine, TransformerConfig cfg, Parameters params, HookCatalog hooks,
            boolean takesHeadInputs) {
        this.w = affine ? params.weight(name + ".w", cfg.dModel()) : null;
        this.eps = (float) cfg.eps();
        this.hookScale = hooks.add(name + ".hook_scale", (c, batch, pos) -> Norm.hookShape(c, takesHeadInputs, batch, pos, 1));
        this.hookNormalized = hooks.add(name + ".hook_normalized",
                (c, batch, pos) -> Norm.hookShape(c, takesHeadInputs, batch, pos, c.dModel()));
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray scale = hookScale.fire(x.square().mean(new int[] {-1}, true).addi(eps).sqrt());
        NDArray normalized = hookNormalized.fire(x.div(scale));
        return w == null ? normalized : normalized.mul(w.value());
    }

    @Override
    public List<Weight> weights() {
        return w == null ? List.of() : List.of(w);
    }
}
