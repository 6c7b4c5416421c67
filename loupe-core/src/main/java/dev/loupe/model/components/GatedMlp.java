package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import dev.loupe.numeric.Autograd;
import java.util.List;

/**
 * The gated MLP of Llama, Mistral, Qwen and Gemma: {@code W_gate}, {@code W_in} [d_model, d_mlp],
 * {@code b_in} [d_mlp], {@code W_out} [d_mlp, d_model], {@code b_out} [d_model]. Fires
 * {@code hook_pre} (x·W_gate), {@code hook_pre_linear} (x·W_in) and {@code hook_post}
 * (act(pre)·pre_linear + b_in), all [batch, pos, d_mlp].
 */
public final class GatedMlp implements FeedForward {
    private final Weight wGate;
    private final Weight wIn;
    private final Weight bIn;
    private final Weight wOut;
    private final Weight bOut;
    private final ActivationFunction act;
    private final HookPoint hookPre;
    private final HookPoint hookPreLinear;
    private final HookPoint hookPost;

    /** @param name the module's TransformerLens name, e.g. {@code blocks.0.mlp} */
    public GatedMlp(String name, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        wGate = params.weight(name + ".W_gate", cfg.dModel(), cfg.dMlp());
        wIn = params.weight(name + ".W_in", cfg.dModel(), cfg.dMlp());
        bIn = params.weight(name + ".b_in", cfg.dMlp());
        wOut = params.weight(name + ".W_out", cfg.dMlp(), cfg.dModel());
        bOut = params.weight(name + ".b_out", cfg.dModel());
        act = ActivationFunction.of(cfg.actFn());
        HookCatalog.ShapeRule hidden = (c, batch, pos) -> new Shape(batch, pos, c.dMlp());
        hookPre = hooks.add(name + ".hook_pre", hidden);
        hookPreLinear = hooks.add(name + ".hook_pre_linear", hidden);
        hookPost = hooks.add(name + ".hook_post", hidden);
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray pre = hookPre.fire(Weight.matMul(x, wGate)); // [batch, pos, d_mlp]
        NDArray preLinear = hookPreLinear.fire(Weight.matMul(x, wIn));
        NDArray activated = act.apply(pre); // a new array: out of autograd the product may go into it
        NDArray product = Autograd.isRecording() ? activated.mul(preLinear) : activated.muli(preLinear);
        NDArray post = hookPost.fire(product.addi(bIn.value()));
        return Weight.matMul(post, wOut).addi(bOut.value());
    }

    /** The biases: its matrices are widened one product at a time ({@link Weight#matMul}). */
    @Override
    public List<Weight> weights() {
        return List.of(bIn, bOut);
    }
}
