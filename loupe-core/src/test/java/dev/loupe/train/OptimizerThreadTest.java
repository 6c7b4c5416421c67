package dev.loupe.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Optimizers step on any thread: libtorch's gradient mode is per thread and on by default except on the
 * thread that started DJL's engine (each {@code loupe shell} snippet runs on a new thread).
 */
class OptimizerThreadTest {
    @Test
    void sgdAndAdamWStepOnAThreadWhoseGradientModeIsOnAndLeaveItOn() throws InterruptedException {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray sgdParameter = manager.create(new float[] {1f, 2f});
            NDArray adamParameter = manager.create(new float[] {1f, 2f});
            sgdParameter.setRequiresGradient(true);
            adamParameter.setRequiresGradient(true);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicReference<Boolean> modeAfter = new AtomicReference<>();
            Thread thread = new Thread(() -> {
                try (Sgd sgd = Sgd.builder().build(List.of(sgdParameter));
                     AdamW adam = AdamW.builder().build(List.of(adamParameter))) {
                    JniUtils.setGradMode(true);
                    Gradients.compute(List.of(sgdParameter), () -> sgdParameter.square().sum());
                    Gradients.compute(List.of(adamParameter), () -> adamParameter.square().sum());
                    sgd.step(0.5);
                    adam.step(0.1);
                    modeAfter.set(JniUtils.isGradMode());
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            thread.start();
            thread.join();
            assertThat(failure.get()).isNull();
            assertThat(modeAfter.get()).as("the thread's gradient mode, restored").isTrue();
            // d(x²)/dx = 2x: SGD at lr 0.5 takes x to 0; AdamW's first step moves each by the learning rate.
            assertThat(sgdParameter.toFloatArray()).containsExactly(0f, 0f);
            assertThat(adamParameter.toFloatArray()[0]).isCloseTo(0.9f, org.assertj.core.data.Offset.offset(2e-3f));
        }
    }
}
