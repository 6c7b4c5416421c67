package dev.loupe.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import dev.loupe.LoupeException;
import dev.loupe.numeric.Autograd;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stochastic gradient descent as {@code torch.optim.SGD}: {@code d = g + weight_decay·p}; with
 * momentum, {@code buf = d} on the first step and {@code buf = momentum·buf + (1 - dampening)·d}
 * after, and the step uses {@code d + momentum·buf} (Nesterov) or {@code buf}; then
 * {@code p -= lr·d}. (DJL's own Nag does not run on the PyTorch engine.)
 */
public final class Sgd extends StatefulOptimizer {
    private final double momentum;
    private final double dampening;
    private final boolean nesterov;
    private final double weightDecay;

    private Sgd(Builder b, List<NDArray> parameters) {
        super(parameters, b.momentum != 0 ? List.of("momentum_buffer") : List.of());
        this.momentum = b.momentum;
        this.dampening = b.dampening;
        this.nesterov = b.nesterov;
        this.weightDecay = b.weightDecay;
    }

    /** torch's defaults: no momentum, no dampening, no Nesterov, no weight decay. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void step(double learningRate) {
        Autograd.withoutGradientMode(() -> update(learningRate));
    }

    private void update(double learningRate) {
        List<NDArray> params = state.parameters();
        try (NDScope scope = new NDScope()) {
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i);
                NDArray d = Gradients.of(p);
                if (weightDecay != 0) {
                    d = d.add(p.mul((float) weightDecay));
                }
                if (momentum != 0) {
                    NDArray buf = state.get("momentum_buffer", i);
                    if (steps == 0) {
                        d.copyTo(buf);
                    } else {
                        buf.muli((float) momentum).addi(d.mul((float) (1 - dampening)));
                    }
                    d = nesterov ? d.add(buf.mul((float) momentum)) : buf;
                }
                p.subi(d.mul((float) learningRate));
            }
        }
        steps++;
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("optimizer", "SGD");
        h.put("momentum", momentum);
        h.put("dampening", dampening);
        h.put("nesterov", nesterov);
        h.put("weight_decay", weightDecay);
        return h;
    }

    /** Builds an {@link Sgd}; defaults are torch's. */
    public static final class Builder {
        private double momentum;
        private double dampening;
        private boolean nesterov;
        private double weightDecay;

        private Builder() {}

        public Builder momentum(double v) { momentum = v; return this; }
        public Builder dampening(double v) { dampening = v; return this; }
        public Builder nesterov(boolean v) { nesterov = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }

        /** The optimizer of {@code parameters} (leaf arrays that require a gradient). */
        public Sgd build(List<NDArray> parameters) {
            if (momentum < 0 || weightDecay < 0) {
                throw new LoupeException("SGD momentum and weight_decay must be >= 0, got " + momentum + " and "
                        + weightDecay);
            }
            if (nesterov && (momentum <= 0 || dampening != 0)) {
                throw new LoupeException("Nesterov momentum requires a momentum and zero dampening (as torch)");
            }
            return new Sgd(this, parameters);
        }
    }
}
