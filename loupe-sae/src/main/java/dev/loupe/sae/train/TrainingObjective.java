package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.loupe.numeric.FilledArrays;
import dev.loupe.numeric.Scalars;
import dev.loupe.sae.format.SaeArchitecture;
import dev.loupe.train.Gradients;

/**
 * SAELens's {@code training_forward_pass}: the loss of one batch x [batch, d_in] and its gradients (DJL
 * autograd, as every trainer in Loupe). loss = mse + one architecture term:
 * <ul>
 * <li>mse = mean over tokens of Σ_d (x̂ − x)²;</li>
 * <li>standard: {@code l1_loss} = mean_t(coef · Σ_i |f_i|·‖W_dec[i]‖);</li>
 * <li>topk: {@code auxiliary_reconstruction_loss}, AuxK: the k_aux = d_in/2 largest pre-activations of dead
 *     features reconstruct the (detached) residual x − x̂, scaled by min(n_dead / k_aux, 1);</li>
 * <li>jumprelu: {@code l0_loss} = mean_t(coef · Σ_i H(pre_i − θ_i)), whose threshold gradient, like the
 *     JumpReLU's own, is the straight-through rectangle-kernel estimate: ∂H(z − θ)/∂θ = −(1/ε)·K((z − θ)/ε)
 *     and ∂JumpReLU(z)/∂θ = −(θ/ε)·K((z − θ)/ε), K(u) = 1 for |u| &lt; ½ (ε the bandwidth); ∂/∂z as the
 *     forward function's (0 for H, the gate for JumpReLU).</li>
 * </ul>
 */
final class TrainingObjective {
    private TrainingObjective() {}

    /**
     * What one step measured (the loss terms before the update; SAELens's logged names in the Javadoc).
     *
     * @param sparsityLoss {@code l1_loss}, {@code auxiliary_reconstruction_loss} or {@code l0_loss}
     * @param l0 mean number of active features per token
     * @param explainedVariance 1 − mean Σ_d(x − x̂)² / mean Σ_d(x − mean x)²
     * @param fired how many tokens of the batch each feature fired on [d_sae]
     */
    record Terms(float loss, float mse, float sparsityLoss, float l0, float explainedVariance, float[] fired) {}

    /**
     * Sets the gradients of {@code sae}'s parameters to those of the loss on {@code x} and returns the terms.
     *
     * @param coefficient the l1 / l0 coefficient of this step (warm-up applied)
     * @param dead which features count as dead [d_sae] (topk's AuxK loss), or null
     */
    static Terms computeGradients(TrainingSae sae, NDArray x, double coefficient, boolean[] dead) {
        Terms[] terms = new Terms[1];
        Gradients.compute(sae.parameterList(), () -> {
            Forward f = forward(sae, x);
            NDArray mse = f.out.sub(x).square().sum(new int[] {-1}).mean();
            NDArray extra = switch (sae.cfg().architecture()) {
                // Scalars, not mul(float): DJL's Java-backed scalar would be freed under the saved tensor.
                case STANDARD -> Scalars.mul(f.acts.mul(decoderNorms(sae)).abs().sum(new int[] {-1}), (float) coefficient)
                        .mean();
                case TOPK -> auxK(sae, x, f, dead);
                case JUMPRELU -> l0Loss(sae, f.pre, coefficient);
                default -> throw new IllegalStateException(sae.cfg().architecture().jsonName());
            };
            NDArray loss = mse.add(extra);
            NDArray firing = f.acts.gt(0f).toType(DataType.FLOAT32, false);
            float perTokenSse = mse.getFloat();
            NDArray centred = x.sub(x.mean(new int[] {0}, true));
            float variance = centred.square().sum(new int[] {-1}).mean().getFloat();
            terms[0] = new Terms(loss.getFloat(), perTokenSse, extra.getFloat(),
                    firing.sum(new int[] {-1}).mean().getFloat(), 1 - perTokenSse / variance,
                    firing.sum(new int[] {0}).toFloatArray());
            return loss;
        });
        return terms[0];
    }

    /** The encoder's output: pre-activations [batch, d_sae] (topk: scaled by the decoder norms), acts, x̂ [batch, d_in]. */
    record Forward(NDArray pre, NDArray acts, NDArray out) {}

    static Forward forward(TrainingSae sae, NDArray x) {
        SaeTrainingConfig cfg = sae.cfg();
        NDArray saeIn = cfg.applyBDecToInput() ? x.sub(sae.get("b_dec")) : x;
        NDArray pre = saeIn.matMul(sae.get("W_enc")).add(sae.get("b_enc"));
        NDArray acts;
        switch (cfg.architecture()) {
            case STANDARD -> acts = Activation.relu(pre);
            case TOPK -> {
                if (cfg.rescaleActsByDecoderNorm()) {
                    pre = pre.mul(decoderNorms(sae));
                }
                acts = Activation.relu(pre).mul(largest(pre.stopGradient(), cfg.k()));
            }
            case JUMPRELU -> acts = jumpRelu(sae, pre);
            default -> throw new IllegalStateException(cfg.architecture().jsonName());
        }
        return new Forward(pre, acts, decode(sae, acts));
    }

    private static NDArray decode(TrainingSae sae, NDArray acts) {
        NDArray scaled = sae.cfg().architecture() == SaeArchitecture.TOPK
                && sae.cfg().rescaleActsByDecoderNorm() ? acts.div(decoderNorms(sae)) : acts;
        return scaled.matMul(sae.get("W_dec")).add(sae.get("b_dec"));
    }

    private static NDArray decoderNorms(TrainingSae sae) {
        return sae.get("W_dec").norm(new int[] {-1}); // [d_sae]
    }

    /** 1 where a value is among the {@code k} largest of its row, else 0 [batch, d_sae] (no gradient). */
    private static NDArray largest(NDArray values, int k) {
        NDArray kth = values.topK(k, -1, true, false).get(0).min(new int[] {-1}, true); // [batch, 1]
        return values.gte(kth).toType(DataType.FLOAT32, false);
    }

    private static NDArray auxK(TrainingSae sae, NDArray x, Forward f, boolean[] dead) {
        int numDead = 0;
        float[] penalty = new float[dead == null ? 0 : dead.length];
        for (int i = 0; i < penalty.length; i++) {
            numDead += dead[i] ? 1 : 0;
            penalty[i] = dead[i] ? 0f : Float.NEGATIVE_INFINITY;
        }
        int kAux = x.getShape().get(1) > 1 ? (int) (x.getShape().get(1) / 2) : 1;
        if (numDead == 0) {
            return x.getManager().zeros(new Shape());
        }
        double scale = Math.min((double) numDead / kAux, 1.0);
        NDArray residual = x.sub(f.out).stopGradient();
        NDArray masked = f.pre.stopGradient().add(FilledArrays.of(x.getManager(), penalty, new Shape(penalty.length)));
        NDArray auxActs = f.pre.mul(largest(masked, Math.min(kAux, numDead)));
        NDArray recons = decode(sae, auxActs);
        return Scalars.mul(recons.sub(residual).square().sum(new int[] {-1}).mean(),
                (float) (sae.cfg().auxLossCoefficient() * scale));
    }

    private static NDArray jumpRelu(TrainingSae sae, NDArray pre) {
        NDArray threshold = sae.get("log_threshold").exp();
        float bandwidth = (float) sae.cfg().jumpreluBandwidth();
        NDArray open = pre.stopGradient().gt(threshold.stopGradient()).toType(DataType.FLOAT32, false);
        NDArray kernel = rectangle(pre, threshold, bandwidth);
        NDArray thresholdGrad = kernel.mul(threshold.stopGradient()).mul(-1f / bandwidth);
        return pre.mul(open).add(straightThrough(threshold, thresholdGrad));
    }

    private static NDArray l0Loss(TrainingSae sae, NDArray pre, double coefficient) {
        NDArray threshold = sae.get("log_threshold").exp();
        float bandwidth = (float) sae.cfg().jumpreluBandwidth();
        NDArray step = pre.stopGradient().gt(threshold.stopGradient()).toType(DataType.FLOAT32, false);
        NDArray stepGrad = rectangle(pre, threshold, bandwidth).mul(-1f / bandwidth);
        NDArray l0 = step.add(straightThrough(threshold, stepGrad)).sum(new int[] {-1});
        return Scalars.mul(l0, (float) coefficient).mean();
    }

    /** K((z − θ)/ε): 1 where |z − θ| &lt; ε/2, else 0 [batch, d_sae] (no gradient). */
    private static NDArray rectangle(NDArray pre, NDArray threshold, float bandwidth) {
        NDArray u = pre.stopGradient().sub(threshold.stopGradient()).div(bandwidth);
        return u.gt(-0.5f).logicalAnd(u.lt(0.5f)).toType(DataType.FLOAT32, false);
    }

    /** 0 in value, with gradient {@code grad} [batch, d_sae] with respect to {@code threshold} [d_sae]. */
    private static NDArray straightThrough(NDArray threshold, NDArray grad) {
        NDArray t = threshold.mul(grad);
        return t.sub(t.stopGradient());
    }
}
