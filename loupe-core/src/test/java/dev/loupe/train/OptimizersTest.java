package dev.loupe.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * AdamW and SGD against plain-Java transcriptions of torch.optim's update rules, on a loss whose
 * gradient changes every step: L = sum(c_t * p^2) / 2, so dL/dp = c_t * p.
 */
class OptimizersTest {
    private static final float[] START = {0.5f, -1.25f, 2f, 0.01f};
    private static final double[] SCALE = {1.0, 0.3, 2.5, 0.7, 1.9};

    @Test
    void adamWMatchesTorchsUpdateRule() {
        double lr = 0.05;
        double b1 = 0.8;
        double b2 = 0.95;
        double eps = 1e-6;
        double wd = 0.1;
        float[] actual;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray p = param(manager);
            try (AdamW adam = AdamW.builder().betas(b1, b2).eps(eps).weightDecay(wd).build(List.of(p))) {
                for (double c : SCALE) {
                    Gradients.compute(List.of(p), () -> p.mul(p).mul((float) c).sum().div(2f));
                    adam.step(lr);
                }
                assertThat(adam.stepCount()).isEqualTo(SCALE.length);
            }
            actual = p.toFloatArray();
        }
        double[] expected = new double[START.length];
        for (int i = 0; i < START.length; i++) {
            double p = START[i];
            double m = 0;
            double v = 0;
            for (int t = 1; t <= SCALE.length; t++) {
                double g = SCALE[t - 1] * p;
                p *= 1 - lr * wd;
                m = b1 * m + (1 - b1) * g;
                v = b2 * v + (1 - b2) * g * g;
                double denom = Math.sqrt(v) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                p -= lr / (1 - Math.pow(b1, t)) * m / denom;
            }
            expected[i] = p;
        }
        assertClose(actual, expected, 2e-6);
    }

    @Test
    void adamWithL2DecayAndAmsgradMatchesTorchOptimAdam() {
        double lr = 0.05;
        double b1 = 0.9;
        double b2 = 0.999;
        double eps = 1e-8;
        double wd = 1e-3;
        // Gradient scales that shrink, so the running maximum of v differs from v.
        double[] scales = {2.5, 1.0, 0.2, 0.05, 0.01};
        float[] actual;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray p = param(manager);
            try (AdamW adam = AdamW.builder().betas(b1, b2).eps(eps).weightDecay(wd).coupledWeightDecay(true)
                    .amsgrad(true).build(List.of(p))) {
                for (double c : scales) {
                    Gradients.compute(List.of(p), () -> p.mul(p).mul((float) c).sum().div(2f));
                    adam.step(lr);
                }
                assertThat(adam.hyperparameters()).containsEntry("optimizer", "Adam").containsEntry("amsgrad", true);
            }
            actual = p.toFloatArray();
        }
        double[] expected = new double[START.length];
        for (int i = 0; i < START.length; i++) {
            double p = START[i];
            double m = 0;
            double v = 0;
            double vMax = 0;
            for (int t = 1; t <= scales.length; t++) {
                double g = scales[t - 1] * p + wd * p;
                m = b1 * m + (1 - b1) * g;
                v = b2 * v + (1 - b2) * g * g;
                vMax = Math.max(vMax, v);
                double denom = Math.sqrt(vMax) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                p -= lr / (1 - Math.pow(b1, t)) * m / denom;
            }
            expected[i] = p;
        }
        assertClose(actual, expected, 2e-6);
    }

    @Test
    void sgdMatchesTorchWithMomentumDampeningAndWeightDecay() {
        assertSgd(0.9, 0.2, false, 0.05);
        assertSgd(0.9, 0, true, 0.05);
        assertSgd(0, 0, false, 0);
    }

    private static void assertSgd(double momentum, double dampening, boolean nesterov, double wd) {
        double lr = 0.1;
        float[] actual;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray p = param(manager);
            try (Sgd sgd = Sgd.builder().momentum(momentum).dampening(dampening).nesterov(nesterov).weightDecay(wd)
                    .build(List.of(p))) {
                for (double c : SCALE) {
                    Gradients.compute(List.of(p), () -> p.mul(p).mul((float) c).sum().div(2f));
                    sgd.step(lr);
                }
            }
            actual = p.toFloatArray();
        }
        double[] expected = new double[START.length];
        for (int i = 0; i < START.length; i++) {
            double p = START[i];
            double buf = 0;
            for (int t = 0; t < SCALE.length; t++) {
                double d = SCALE[t] * p + wd * p;
                if (momentum != 0) {
                    buf = t == 0 ? d : momentum * buf + (1 - dampening) * d;
                    d = nesterov ? d + momentum * buf : buf;
                }
                p -= lr * d;
            }
            expected[i] = p;
        }
        assertClose(actual, expected, 2e-6);
    }

    @Test
    void gradientsReplaceRatherThanAccumulate() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray p = param(manager);
            float first = Gradients.compute(List.of(p), () -> p.mul(3f).sum());
            Gradients.compute(List.of(p), () -> p.mul(3f).sum());
            assertThat(p.getGradient().toFloatArray()).containsExactly(3f, 3f, 3f, 3f);
            assertThat(first).isCloseTo(3f * (0.5f - 1.25f + 2f + 0.01f), within(1e-5f));
        }
    }

    @Test
    void clippingScalesTheGlobalNormAsTorch() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(new float[] {3f, 0f});
            NDArray b = manager.create(new float[] {4f});
            a.setRequiresGradient(true);
            b.setRequiresGradient(true);
            // dL/da = (3, 0), dL/db = (4): the global norm is 5.
            Gradients.compute(List.of(a, b), () -> a.mul(a).sum().div(2f).add(b.mul(b).sum().div(2f)));
            float norm = GradientClipping.clipGradNorm(List.of(a, b), 1.0);
            assertThat(norm).isCloseTo(5f, within(1e-6f));
            double coefficient = 1.0 / (5 + 1e-6);
            assertThat((double) a.getGradient().getFloat(0)).isCloseTo(3 * coefficient, within(1e-6));
            assertThat((double) b.getGradient().getFloat(0)).isCloseTo(4 * coefficient, within(1e-6));
            // Below the limit nothing changes.
            GradientClipping.clipGradNorm(List.of(a, b), 10.0);
            assertThat((double) b.getGradient().getFloat(0)).isCloseTo(4 * coefficient, within(1e-6));
        }
    }

    @Test
    void optimizerStateRoundTripsThroughItsNames() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray p = param(manager);
            try (AdamW adam = AdamW.builder().build(List.of(p)); AdamW other = AdamW.builder().build(List.of(p))) {
                Gradients.compute(List.of(p), () -> p.mul(p).sum());
                adam.step(0.01);
                assertThat(adam.state()).containsOnlyKeys("exp_avg.0", "exp_avg_sq.0");
                other.loadState(adam.state(), adam.stepCount());
                assertThat(other.state().get("exp_avg_sq.0").toFloatArray())
                        .containsExactly(adam.state().get("exp_avg_sq.0").toFloatArray());
                assertThat(other.stepCount()).isEqualTo(1);
            }
        }
    }

    private static NDArray param(NDManager manager) {
        NDArray p = manager.create(START.clone());
        p.setRequiresGradient(true);
        return p;
    }

    private static void assertClose(float[] actual, double[] expected, double atol) {
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("element %d", i).isCloseTo(expected[i], within(atol));
        }
    }
}
