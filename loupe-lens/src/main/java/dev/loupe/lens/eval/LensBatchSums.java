package dev.loupe.lens.eval;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sums of per-batch metrics (each a mean over one batch's positions, in nats): what
 * {@link LensEvaluator#batch} gives for one batch and {@link #plus} adds up over batches. Serializable, so that
 * batches evaluated on other machines can be sent back and added in batch order.
 *
 * @param logit the logit lens: {@code ce}, {@code entropy}, {@code kl} → one sum per layer [n_layers]
 * @param tuned the same for the tuned lens, or null
 * @param baselineCe the model's own cross-entropy
 * @param baselineEntropy the entropy of the model's own predictions
 */
public record LensBatchSums(Map<String, double[]> logit, Map<String, double[]> tuned, double baselineCe,
        double baselineEntropy) implements Serializable {
    private static final long serialVersionUID = 1L;

    public LensBatchSums {
        logit = new LinkedHashMap<>(logit);
        tuned = tuned == null ? null : new LinkedHashMap<>(tuned);
    }

    /** These sums plus {@code other}'s (this batch first, then the other: the order {@link LensEvaluator} adds in). */
    public LensBatchSums plus(LensBatchSums other) {
        return new LensBatchSums(add(logit, other.logit), tuned == null ? null : add(tuned, other.tuned),
                baselineCe + other.baselineCe, baselineEntropy + other.baselineEntropy);
    }

    private static Map<String, double[]> add(Map<String, double[]> a, Map<String, double[]> b) {
        Map<String, double[]> out = new LinkedHashMap<>();
        a.forEach((name, values) -> {
            double[] sum = values.clone();
            double[] more = b.get(name);
            for (int i = 0; i < sum.length; i++) {
                sum[i] += more[i];
            }
            out.put(name, sum);
        });
        return out;
    }
}
