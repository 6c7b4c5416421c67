package dev.loupe.lens.eval;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything one evaluation measured.
 *
 * @param aggregate the mean over batches, in the data's unit (the library's {@code aggregate_metrics.json})
 * @param batches each batch's means in nats, in the order evaluated (the library's {@code batches.jsonl})
 * @param logitStats the recorders by name, {@code "logit.layer_0"} … {@code "tuned.layer_{L-1}"} and
 *     {@code "baseline.final"} for the model's output; empty unless recorded
 */
public record LensEvaluation(LensMetrics aggregate, List<LensMetrics> batches, Map<String, LogitStats> logitStats) {
    public LensEvaluation {
        batches = List.copyOf(batches);
        logitStats = Collections.unmodifiableMap(new LinkedHashMap<>(logitStats));
    }
}
