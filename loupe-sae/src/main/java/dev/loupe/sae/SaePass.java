package dev.loupe.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.loupe.LoupeException;
import dev.loupe.sae.format.SaeConfig;

/**
 * One pass of an SAE over one input, in SAELens's order: {@code process_sae_in} (flatten hook_z,
 * {@code hook_sae_input}, normalise, subtract b_dec), the architecture's encoder ({@code hook_sae_acts_pre},
 * {@code hook_sae_acts_post}), the decoder ({@code hook_sae_recons}), de-normalise, shape back. The
 * normalisation's statistics live here, from the input to the output of the same pass.
 */
final class SaePass {
    private final Sae sae;
    private final SaeConfig cfg;
    private final SaeHooks hooks;
    private final Normalization normalization;

    SaePass(Sae sae, SaeHooks hooks) {
        this.sae = sae;
        this.cfg = sae.cfg();
        this.hooks = hooks;
        this.normalization = new Normalization(cfg.normalizeActivations());
    }

    /** x (the hook's activation) → the output in x's shape. */
    NDArray run(NDArray x) {
        NDArray out = normalization.out(decode(encode(input(x))));
        return cfg.reshapeHookZ() ? out.reshape(x.getShape()) : out;
    }

    /** x [.., d_in] (hook_z [.., n_heads, d_head]) → sae_in [.., d_in]. */
    NDArray input(NDArray x) {
        Shape shape = x.getShape();
        int rank = shape.dimension();
        NDArray flat = x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        if (cfg.reshapeHookZ()) {
            if (rank < 2 || shape.get(rank - 2) * shape.get(rank - 1) != cfg.dIn()) {
                throw new LoupeException("This hook_z SAE takes [.., n_heads, d_head] with n_heads·d_head = d_in = "
                        + cfg.dIn() + ", got " + shape);
            }
            flat = flat.reshape(shape.slice(0, rank - 2).add(cfg.dIn()));
        } else if (rank < 1 || shape.get(rank - 1) != cfg.dIn()) {
            throw new LoupeException("This SAE takes [.., d_in] with d_in = " + cfg.dIn() + ", got " + shape);
        }
        NDArray in = normalization.in(hooks.fire(Sae.HOOK_INPUT, flat), cfg.dIn());
        return cfg.applyBDecToInput() ? in.sub(sae.tensor("b_dec")) : in;
    }

    /** sae_in [.., d_in] → feature activations [.., d_sae]. */
    NDArray encode(NDArray saeIn) {
        NDArray wEnc = sae.tensor("W_enc");
        switch (cfg.architecture()) {
            case TOPK -> {
                NDArray pre = hooks.fire(Sae.HOOK_ACTS_PRE, saeIn.matMul(wEnc).add(sae.tensor("b_enc")));
                if (sae.decoderNorms != null) {
                    pre = pre.mul(sae.decoderNorms); // after the hook, as SAELens: acts_pre records the unscaled one
                }
                NDList top = pre.topK(cfg.k(), -1, true, false);
                NDArray acts = pre.zerosLike().scatter(top.get(1), Activation.relu(top.get(0)), -1);
                return hooks.fire(Sae.HOOK_ACTS_POST, acts);
            }
            case JUMPRELU -> {
                NDArray pre = hooks.fire(Sae.HOOK_ACTS_PRE, saeIn.matMul(wEnc).add(sae.tensor("b_enc")));
                NDArray open = pre.gt(sae.tensor("threshold")).toType(DataType.FLOAT32, false); // strict >
                return hooks.fire(Sae.HOOK_ACTS_POST, Activation.relu(pre).mul(open));
            }
            case GATED -> {
                NDArray open = saeIn.matMul(wEnc).add(sae.tensor("b_gate")).gt(0f).toType(DataType.FLOAT32, false);
                NDArray pre = hooks.fire(Sae.HOOK_ACTS_PRE, saeIn.matMul(sae.magnitudeEncoder).add(sae.tensor("b_mag")));
                return hooks.fire(Sae.HOOK_ACTS_POST, open.mul(Activation.relu(pre)));
            }
            default -> { // standard, transcoder
                NDArray pre = hooks.fire(Sae.HOOK_ACTS_PRE, saeIn.matMul(wEnc).add(sae.tensor("b_enc")));
                return hooks.fire(Sae.HOOK_ACTS_POST, Activation.relu(pre));
            }
        }
    }

    /** acts [.., d_sae] → acts·W_dec + b_dec [.., d_out], through {@code hook_sae_recons}. */
    NDArray decode(NDArray acts) {
        Shape shape = acts.getShape();
        if (shape.dimension() < 1 || shape.get(shape.dimension() - 1) != cfg.dSae()) {
            throw new LoupeException("Feature activations must be [.., d_sae] with d_sae = " + cfg.dSae() + ", got " + shape);
        }
        NDArray scaled = sae.decoderNorms != null ? acts.div(sae.decoderNorms) : acts;
        return hooks.fire(Sae.HOOK_RECONS, scaled.matMul(sae.tensor("W_dec")).add(sae.tensor("b_dec")));
    }
}
