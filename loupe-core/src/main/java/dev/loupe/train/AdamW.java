package dev.loupe.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import dev.loupe.LoupeException;
import dev.loupe.numeric.Autograd;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam with decoupled weight decay, as {@code torch.optim.AdamW}: each step first shrinks a parameter
 * by {@code 1 - lr·weight_decay}, then moves it by {@code lr / (1 - β1^t) · m / (sqrt(v) /
 * sqrt(1 - β2^t) + eps)}. With {@link Builder#coupledWeightDecay} the decay is added to the gradient
 * instead ({@code g + weight_decay·p}), which is {@code torch.optim.Adam}; with {@link
 * Builder#amsgrad} the running maximum of {@code v} replaces {@code v} in the denominator.
 */
public final class AdamW extends StatefulOptimizer {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final boolean coupled;
    private final boolean amsgrad;

    private AdamW(Builder b, List<NDArray> parameters) {
        super(parameters, b.amsgrad ? List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
                : List.of("exp_avg", "exp_avg_sq"));
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.eps = b.eps;
        this.weightDecay = b.weightDecay;
        this.coupled = b.coupled;
        this.amsgrad = b.amsgrad;
    }

    /** torch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void step(double learningRate) {
        Autograd.withoutGradientMode(() -> update(learningRate));
    }

    private void update(double learningRate) {
        steps++;
        double biasCorrection1 = 1 - Math.pow(beta1, steps);
        double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, steps));
        float stepSize = (float) (learningRate / biasCorrection1);
        List<NDArray> params = state.parameters();
        try (NDScope scope = new NDScope()) {
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i);
                NDArray g = Gradients.of(p);
                NDArray m = state.get("exp_avg", i);
                NDArray v = state.get("exp_avg_sq", i);
                if (weightDecay != 0 && coupled) {
                    g = g.add(p.mul((float) weightDecay));
                } else if (weightDecay != 0) {
                    p.muli((float) (1 - learningRate * weightDecay));
                }
                m.addi(g.sub(m).muli((float) (1 - beta1))); // torch's exp_avg.lerp_(grad, 1 - beta1)
                v.muli((float) beta2).addi(g.mul(g).muli((float) (1 - beta2)));
                NDArray second = v;
                if (amsgrad) {
                    second = state.get("max_exp_avg_sq", i);
                    second.maximum(v).copyTo(second);
                }
                NDArray denom = second.sqrt().divi((float) biasCorrection2Sqrt).addi((float) eps);
                p.subi(m.div(denom).muli(stepSize));
            }
        }
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("optimizer", coupled ? "Adam" : "AdamW");
        h.put("betas", List.of(beta1, beta2));
        h.put("eps", eps);
        h.put("weight_decay", weightDecay);
        h.put("amsgrad", amsgrad);
        return h;
    }

    /** Builds an {@link AdamW}; defaults are torch's. */
    public static final class Builder {
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double weightDecay = 0.01;
        private boolean coupled;
        private boolean amsgrad;

        private Builder() {}

        /** Weight decay added to the gradient, as {@code torch.optim.Adam} does, instead of decoupled. */
        public Builder coupledWeightDecay(boolean v) { coupled = v; return this; }
        /** Use the running maximum of the second moment (torch's {@code amsgrad=True}). */
        public Builder amsgrad(boolean v) { amsgrad = v; return this; }

        public Builder betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }
        public Builder eps(double v) { eps = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }

        /** The optimizer of {@code parameters} (leaf arrays that require a gradient). */
        public AdamW build(List<NDArray> parameters) {
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
                throw new LoupeException("AdamW betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
            }
            if (!(eps >= 0) || !(weightDecay >= 0)) {
                throw new LoupeException("AdamW eps and weight_decay must be >= 0, got " + eps + " and " + weightDecay);
            }
            return new AdamW(this, parameters);
        }
    }
}
