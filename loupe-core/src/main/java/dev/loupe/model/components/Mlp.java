package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import java.util.List;

/**
 * The feed-forward layer: {@code W_in [d_model, d_mlp]}, {@code b_in [d_mlp]}, {@code W_out
 * [d_mlp, d_model]}, {@code b_out [d_model]}. Fires {@code hook_pre} (before the activation) and
 * {@code hook_post} (after it), both [batch, pos, d_mlp].
 */
public final class Mlp implements FeedForward {
    private final Weight bIn;
    private final Weight bOut;
    private final Affine in; // x·W_in + b_in
    private final Affine out; // post·W_out + b_out
    private final ActivationFunction act;
    private final HookPoint hookPre;
    private final HookPoint hookPost;

    /** @param name the module's TransformerLens name, e.g. {@code blocks.0.mlp} */
    public Mlp(String name, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        bIn = params.weight(name + ".b_in", cfg.dMlp());
        bOut = params.weight(name + ".b_out", cfg.dModel());
        in = new Affine(params.weight(name + ".W_in", cfg.dModel(), cfg.dMlp()).stored(), bIn);
        out = new Affine(params.weight(name + ".W_out", cfg.dMlp(), cfg.dModel()).stored(), bOut);
        act = ActivationFunction.of(cfg.actFn());
        HookCatalog.ShapeRule hidden = (c, batch, pos) -> new Shape(batch, pos, c.dMlp());
        hookPre = hooks.add(name + ".hook_pre", hidden);
        hookPost = hooks.add(name + ".hook_post", hidden);
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray pre = hookPre.fire(in.apply(x)); // [batch, pos, d_mlp]
        NDArray post = hookPost.fire(act.apply(pre));
        return out.apply(post);
    }

    /** Its parameters as the products read them: W_in and W_out as transposed views. */
    @Override
    public List<Weight> weights() {
        return List.of(in.weight(), bIn, out.weight(), bOut);
    }
}
