package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import java.util.List;

/**
 * LayerNorm ({@code LN}: weight {@code w} and bias {@code b}, both [d_model]) and LayerNormPre
 * ({@code LNPre}: the same without them, after folding). Fires {@code hook_scale} [..., 1] and
 * {@code hook_normalized} [..., d_model], taken before the weight and bias as TransformerLens does.
 *
 * <p>When nothing observes those two hooks, libtorch's fused kernel computes the same function.
 */
public final class LayerNorm implements Norm {
    private final boolean affine;
    private final Weight w;
    private final Weight b;
    private final float eps;
    private final int dModel;
    private final HookPoint hookScale;
    private final HookPoint hookNormalized;

    /**
     * @param name the module's TransformerLens name ({@code blocks.0.ln1}, {@code ln_final})
     * @param affine whether it has a weight and bias ({@code LN}) or not ({@code LNPre})
     * @param takesHeadInputs see {@link Norm#create}
     */
    public LayerNorm(String name, boolean affine, TransformerConfig cfg, Parameters params, HookCatalog hooks,
            boolean takesHeadInputs) {
        this.affine = affine;
        this.eps = (float) cfg.eps();
        this.dModel = cfg.dModel();
        if (affine) {
            this.w = params.weight(name + ".w", cfg.dModel());
            this.b = params.weight(name + ".b", cfg.dModel());
        } else {
            this.w = Weight.of(params.manager().ones(new Shape(cfg.dModel())));
            this.b = Weight.of(params.manager().zeros(new Shape(cfg.dModel())));
        }
        this.hookScale = hooks.add(name + ".hook_scale", (c, batch, pos) -> Norm.hookShape(c, takesHeadInputs, batch, pos, 1));
        this.hookNormalized = hooks.add(name + ".hook_normalized",
                (c, batch, pos) -> Norm.hookShape(c, takesHeadInputs, batch, pos, c.dModel()));
    }

    @Override
    public NDArray forward(NDArray x) {
        if (!hookScale.hasHooks() && !hookNormalized.hasHooks()) {
            return x.getNDArrayInternal().layerNorm(x, new Shape(dModel), w.value(), b.value(), eps).get(0);
        }
        NDArray centred = x.sub(x.mean(new int[] {-1}, true));
        NDArray scale = hookScale.fire(centred.square().mean(new int[] {-1}, true).addi(eps).sqrt());
        NDArray normalized = hookNormalized.fire(centred.div(scale));
        return affine ? normalized.mul(w.value()).addi(b.value()) : normalized;
    }

    @Override
    public List<Weight> weights() {
        return affine ? List.of(w, b) : List.of();
    }
}
