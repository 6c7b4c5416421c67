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
    private final Weight wIn;
    private final Weight bIn;
    private final Weight wOut;
    private final Weight bOut;
    private final ActivationFunction act;
    private final HookPoint hookPre;
    private final HookPoint hookPost;

    /** @param name the module's TransformerLens name, e.g. {@code blocks.0.mlp} */
    public Mlp(String name, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        wIn = params.weight(name + ".W_in", cfg.dModel(), cfg.dMlp());
        bIn = params.weight(name + ".b_in", cfg.dMlp());
        wOut = params.weight(name + ".W_out", cfg.dMlp(), cfg.dModel());
        bOut = params.weight(name + ".b_out", cfg.dModel());
        act = ActivationFunction.of(cfg.actFn());
        HookCatalog.ShapeRule hidden = (c, batch, pos) -> new Shape(batch, pos, c.dMlp());
        hookPre = hooks.add(name + ".hook_pre", hidden);
        hookPost = hooks.add(name + ".hook_post", hidden);
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray pre = hookPre.fire(x.matMul(wIn.value()).addi(bIn.value())); // [batch, pos, d_mlp]
        NDArray post = hookPost.fire(act.apply(pre));
        return post.matMul(wOut.value()).addi(bOut.value());
    }

    @Override
    public List<Weight> weights() {
        return List.of(wIn, bIn, wOut, bOut);
    }
}
