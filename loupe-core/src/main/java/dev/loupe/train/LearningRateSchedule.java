package dev.loupe.train;

import dev.loupe.LoupeException;

/**
 * The learning rate of each optimizer step, numbered from 0 as torch's {@code LambdaLR} numbers
 * them (the first update uses {@code at(0)}).
 *
 * <pre>{@code
 * LearningRateSchedule schedule = LearningRateSchedule.warmupCosine(1e-3, 100, 3000, 1e-4);
 * optimizer.step(schedule.at(step));
 * }</pre>
 */
@FunctionalInterface
public interface LearningRateSchedule {

    /** The learning rate of step {@code step} (0-based). */
    double at(long step);

    /** The same rate at every step. */
    static LearningRateSchedule constant(double rate) {
        return step -> rate;
    }

    /**
     * A linear warm-up from 0 to {@code peak} over {@code warmupSteps}, then a half-cosine down to
     * {@code minRate} at {@code totalSteps} (transformers' {@code get_cosine_schedule_with_warmup}
     * when {@code minRate} is 0), and {@code minRate} after.
     */
    static LearningRateSchedule warmupCosine(double peak, long warmupSteps, long totalSteps, double minRate) {
        check(peak, warmupSteps, totalSteps);
        if (minRate < 0 || minRate > peak) {
            throw new LoupeException("The final learning rate must be in [0, peak], got " + minRate);
        }
        return step -> {
            if (step < warmupSteps) {
                return peak * step / Math.max(1, warmupSteps);
            }
            double progress = Math.min(1.0, (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
            return minRate + (peak - minRate) * 0.5 * (1 + Math.cos(Math.PI * progress));
        };
    }

    /**
     * A linear warm-up from 0 to {@code peak} over {@code warmupSteps}, then a linear decay to 0 at
     * {@code totalSteps}, as transformers' {@code get_linear_schedule_with_warmup}.
     */
    static LearningRateSchedule warmupLinear(double peak, long warmupSteps, long totalSteps) {
        check(peak, warmupSteps, totalSteps);
        return step -> {
            if (step < warmupSteps) {
                return peak * step / Math.max(1, warmupSteps);
            }
            return peak * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
        };
    }

    private static void check(double peak, long warmupSteps, long totalSteps) {
        if (!(peak > 0) || warmupSteps < 0 || totalSteps < 1 || warmupSteps > totalSteps) {
            throw new LoupeException("A schedule needs peak > 0 and 0 <= warm-up steps <= total steps, got peak "
                    + peak + ", warm-up " + warmupSteps + ", total " + totalSteps);
        }
    }
}
