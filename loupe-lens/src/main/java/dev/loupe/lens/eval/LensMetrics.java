package dev.loupe.lens.eval;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-layer statistics of the logit lens and (if evaluated) a tuned lens, in the unit of
 * {@code natsToBitsPerByte}: bits per byte for a text corpus, as the tuned-lens library reports every
 * metric (nats per token × tokens ÷ bytes ÷ ln 2; KL and entropy are scaled the same way), or nats
 * when the factor is 1.
 *
 * @param logit the logit lens: {@code ce}, {@code entropy}, {@code kl} → one value per layer
 * @param tuned the tuned lens, or null
 * @param baselineCe the model's own cross-entropy
 * @param baselineEntropy the entropy of the model's own predictions
 * @param natsToBitsPerByte the factor applied (1: nats)
 * @param tokens how many tokens were evaluated
 * @param logitTransfer the logit lens's layer transfer, or null when not measured
 * @param tunedTransfer the tuned lens's layer transfer, or null
 */
public record LensMetrics(Map<String, double[]> logit, Map<String, double[]> tuned, double baselineCe,
        double baselineEntropy, double natsToBitsPerByte, long tokens, LayerTransfer logitTransfer,
        LayerTransfer tunedTransfer) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Without layer transfer. */
    public LensMetrics(Map<String, double[]> logit, Map<String, double[]> tuned, double baselineCe,
            double baselineEntropy, double natsToBitsPerByte, long tokens) {
        this(logit, tuned, baselineCe, baselineEntropy, natsToBitsPerByte, tokens, null, null);
    }

    /**
     * As the library's {@code aggregate_metrics.json}: {@code {"logit": {"ce": {"layer_0": …}, "entropy":
     * …, "kl": …, "layer_transfer": {"ce": {"layer_i": {"layer_j": …}}, "kl": …}}, "tuned": …,
     * "baseline": {"ce": {"final": …}, "entropy": {"final": …}}}}, plus {@code nats_to_bpb} and {@code tokens}.
     */
    public Map<String, Object> toJson() {
        Map<String, Object> json = toLibraryJson();
        json.put("nats_to_bpb", natsToBitsPerByte);
        json.put("tokens", tokens);
        return json;
    }

    /** Exactly the library's keys (one entry of its {@code batches.jsonl}). */
    public Map<String, Object> toLibraryJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("logit", byLayer(logit, logitTransfer));
        if (tuned != null) {
            json.put("tuned", byLayer(tuned, tunedTransfer));
        }
        json.put("baseline", Map.of("ce", Map.of("final", baselineCe), "entropy", Map.of("final", baselineEntropy)));
        return json;
    }

    /** The mean of per-batch metrics (in nats), times {@code factor}; {@code tokens} is the total. */
    public static LensMetrics mean(List<LensMetrics> batches, double factor) {
        double scale = factor / batches.size();
        LensMetrics first = batches.get(0);
        Map<String, double[]> logit = zeros(first.logit);
        Map<String, double[]> tuned = first.tuned == null ? null : zeros(first.tuned);
        LayerTransfer logitTransfer = first.logitTransfer == null ? null : LayerTransfer.zeros(first.logitTransfer.ce().length);
        LayerTransfer tunedTransfer = first.tunedTransfer == null ? null : LayerTransfer.zeros(first.tunedTransfer.ce().length);
        double ce = 0;
        double entropy = 0;
        long tokens = 0;
        for (LensMetrics batch : batches) {
            add(logit, batch.logit, scale);
            if (tuned != null) {
                add(tuned, batch.tuned, scale);
            }
            if (logitTransfer != null) {
                logitTransfer = logitTransfer.combine(1, batch.logitTransfer, scale);
            }
            if (tunedTransfer != null) {
                tunedTransfer = tunedTransfer.combine(1, batch.tunedTransfer, scale);
            }
            ce += batch.baselineCe * scale;
            entropy += batch.baselineEntropy * scale;
            tokens += batch.tokens;
        }
        return new LensMetrics(logit, tuned, ce, entropy, factor, tokens, logitTransfer, tunedTransfer);
    }

    private static Map<String, double[]> zeros(Map<String, double[]> like) {
        Map<String, double[]> out = new LinkedHashMap<>();
        like.forEach((name, values) -> out.put(name, new double[values.length]));
        return out;
    }

    private static void add(Map<String, double[]> sums, Map<String, double[]> batch, double scale) {
        sums.forEach((name, values) -> {
            for (int i = 0; i < values.length; i++) {
                values[i] += batch.get(name)[i] * scale;
            }
        });
    }

    private static Map<String, Object> byLayer(Map<String, double[]> metrics, LayerTransfer transfer) {
        Map<String, Object> out = new LinkedHashMap<>();
        metrics.forEach((name, values) -> {
            Map<String, Double> layers = new LinkedHashMap<>();
            for (int layer = 0; layer < values.length; layer++) {
                layers.put("layer_" + layer, values[layer]);
            }
            out.put(name, layers);
        });
        if (transfer != null) {
            out.put("layer_transfer", Map.of("ce", matrix(transfer.ce()), "kl", matrix(transfer.kl())));
        }
        return out;
    }

    /** {@code {"layer_i": {"layer_j": value[i][j]}}}. */
    private static Map<String, Object> matrix(double[][] values) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            Map<String, Double> row = new LinkedHashMap<>();
            for (int j = 0; j < values[i].length; j++) {
                row.put("layer_" + j, values[i][j]);
            }
            out.put("layer_" + i, row);
        }
        return out;
    }
}
