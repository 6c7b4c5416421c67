package dev.loupe.lens.eval;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-layer statistics of the logit lens and (if evaluated) a tuned lens, in bits per byte as the
 * tuned-lens library reports every metric (nats per token × tokens ÷ bytes ÷ ln 2; KL and entropy
 * are scaled the same way).
 *
 * @param logit the logit lens: {@code ce}, {@code entropy}, {@code kl} → one value per layer
 * @param tuned the tuned lens, or null
 * @param baselineCe the model's own cross-entropy
 * @param baselineEntropy the entropy of the model's own predictions
 * @param natsToBitsPerByte the factor applied
 * @param tokens how many tokens were evaluated
 */
public record LensMetrics(Map<String, double[]> logit, Map<String, double[]> tuned, double baselineCe,
        double baselineEntropy, double natsToBitsPerByte, long tokens) {

    /**
     * As the library's {@code aggregate_metrics.json}: {@code {"logit": {"ce": {"layer_0": …}, "entropy":
     * …, "kl": …}, "tuned": …, "baseline": {"ce": {"final": …}, "entropy": {"final": …}}}}, plus
     * {@code nats_to_bpb} and {@code tokens}.
     */
    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("logit", byLayer(logit));
        if (tuned != null) {
            json.put("tuned", byLayer(tuned));
        }
        json.put("baseline", Map.of("ce", Map.of("final", baselineCe), "entropy", Map.of("final", baselineEntropy)));
        json.put("nats_to_bpb", natsToBitsPerByte);
        json.put("tokens", tokens);
        return json;
    }

    private static Map<String, Object> byLayer(Map<String, double[]> metrics) {
        Map<String, Object> out = new LinkedHashMap<>();
        metrics.forEach((name, values) -> {
            Map<String, Double> layers = new LinkedHashMap<>();
            for (int layer = 0; layer < values.length; layer++) {
                layers.put("layer_" + layer, values[layer]);
            }
            out.put(name, layers);
        });
        return out;
    }
}
