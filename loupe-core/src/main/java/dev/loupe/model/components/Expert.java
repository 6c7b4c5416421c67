package dev.loupe.model.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import dev.loupe.numeric.Autograd;

/**
 * One expert of a {@link MixtureOfExperts}: a gated MLP without biases over the rows of the tokens
 * routed to it, {@code W_out(act(W_gate·x) * (W_in·x))}. Its weights keep {@code nn.Linear}'s
 * [out, in] layout, as TransformerLens stores them: {@code W_gate.weight} and {@code W_in.weight}
 * [d_mlp, d_model], {@code W_out.weight} [d_model, d_mlp] (Mixtral's w1, w3 and w2).
 *
 * <p>Hooks, each [rows, d_mlp] with one row per token routed to this expert (possibly none):
 * {@code hook_gate} (W_gate·x, before the activation), {@code hook_pre} (W_in·x) and
 * {@code hook_post} (act(gate)·pre). Note the names differ from {@link GatedMlp}'s, where
 * {@code hook_pre} is the gate; they are TransformerLens's.
 */
public final class Expert {
    private final Weight wGate;
    private final Weight wIn;
    private final Weight wOut;
    private final ActivationFunction act;
    private final HookPoint hookGate;
    private final HookPoint hookPre;
    private final HookPoint hookPost;

    /** @param name the expert's TransformerLens name, e.g. {@code blocks.0.mlp.experts.3} */
    public Expert(String name, TransformerConfig cfg, Parameters params, HookCatalog hooks) {
        wIn = params.weight(name + ".W_in.weight", cfg.dMlp(), cfg.dModel());
        wOut = params.weight(name + ".W_out.weight", cfg.dModel(), cfg.dMlp());
        wGate = params.weight(name + ".W_gate.weight", cfg.dMlp(), cfg.dModel());
        act = ActivationFunction.of(cfg.actFn());
        // The number of rows depends on the routing: -1 stands for it.
        HookCatalog.ShapeRule routed = (c, batch, pos) -> new Shape(-1, c.dMlp());
        hookGate = hooks.add(name + ".hook_gate", routed);
        hookPre = hooks.add(name + ".hook_pre", routed);
        hookPost = hooks.add(name + ".hook_post", routed);
    }

    /** x [rows, d_model] → [rows, d_model]. */
    public NDArray forward(NDArray x) {
        NDArray gate = hookGate.fire(Weight.matMulTransposed(x, wGate)); // [rows, d_mlp]
        NDArray pre = hookPre.fire(Weight.matMulTransposed(x, wIn));
        NDArray activated = act.apply(gate); // a new array: out of autograd the product may go into it
        NDArray post = hookPost.fire(Autograd.isRecording() ? activated.mul(pre) : activated.muli(pre));
        return Weight.matMulTransposed(post, wOut);
    }

    /** Its matrices as {@link GroupedExperts} reads them: gate, in, out. */
    Weight[] matrices() {
        return new Weight[] {wGate, wIn, wOut};
    }

    /** Its non-linearity (the config's {@code act_fn}, the same for every expert). */
    ActivationFunction activation() {
        return act;
    }

    /** Whether any of its hook points has a hook in the current run. */
    boolean hooked() {
        return hookGate.hasHooks() || hookPre.hasHooks() || hookPost.hasHooks();
    }

    /**
     * {@code act(gate) * pre} from its products of the same rows, firing {@code hook_gate}, {@code hook_pre} and
     * {@code hook_post} as {@link #forward} does; out of autograd only (the product is made in place).
     */
    NDArray hidden(NDArray gate, NDArray pre) {
        NDArray hookedGate = hookGate.fire(gate);
        NDArray hookedPre = hookPre.fire(pre);
        return hookPost.fire(act.apply(hookedGate).muli(hookedPre));
    }
}
