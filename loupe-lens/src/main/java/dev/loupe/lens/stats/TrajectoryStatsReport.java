package dev.loupe.lens.stats;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensInputs;
import dev.loupe.model.HookedTransformer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every trajectory statistic of a batch for one or more lenses, named as the tuned-lens fixtures
 * name them: {@code {lens}.{statistic}}; for each ordered pair of lenses {@code {a}_vs_{b}.kl_divergence},
 * the library's {@code js_divergence} (half the symmetrised KL) and {@code total_variation}
 * (max |p_a − p_b|), and the true {@code jensen_shannon} and {@code total_variation_distance}; and what
 * {@link TrajectoryStatsOptions} asks for ({@code {lens}_masked.*}, {@code {lens}.slice.*},
 * {@code {lens}.stride.*}). With a lens named {@code tuned} beside {@code logit}, {@link #distances()}
 * holds the library's {@code tuned_lens.stats} distances (tuned vs logit, the true Jensen–Shannon).
 *
 * @param statistics by name, in computing order
 * @param distances {@code distance.kl_divergence}, {@code distance.js_divergence}, {@code distance.js_distance},
 *     each [n_layers][batch][pos] (the output row left out, layer first as the library lays them out); or empty
 */
public record TrajectoryStatsReport(Map<String, TrajectoryStatistic> statistics, Map<String, float[][][]> distances) {
    private static final String PER_SEQUENCE = ".per_sequence";

    public TrajectoryStatsReport {
        statistics = Collections.unmodifiableMap(new LinkedHashMap<>(statistics));
        distances = Collections.unmodifiableMap(new LinkedHashMap<>(distances));
    }

    /** Computes the statistics of {@code lenses} (name → lens, e.g. {@code "logit"}, {@code "tuned"}) on {@code inputs}. */
    public static TrajectoryStatsReport compute(HookedTransformer model, Map<String, Lens> lenses,
            TrajectoryInputs inputs, TrajectoryStatsOptions options) {
        if (lenses.isEmpty()) {
            throw new LoupeException("Name at least one lens to compute trajectory statistics for");
        }
        Map<String, TrajectoryStatistic> out = new LinkedHashMap<>();
        Map<String, float[][][]> distances = new LinkedHashMap<>();
        Map<String, PredictionTrajectories> plain = new LinkedHashMap<>();
        try (NDManager scratch = NDManager.newBaseManager()) {
            for (Map.Entry<String, Lens> entry : lenses.entrySet()) {
                String name = entry.getKey();
                Lens lens = entry.getValue();
                List<TrajectoryStatistic> all;
                try (LensInputs run = LensInputs.run(model, inputs.inputIdsArray(scratch),
                        inputs.attentionMaskArray(scratch), lens.hook(), List.of())) {
                    PredictionTrajectories trajectories = PredictionTrajectories.fromRun(lens, run, inputs, false);
                    plain.put(name, trajectories);
                    all = trajectories.all();
                    put(out, name + ".", all);
                    if (options.maskInput()) {
                        try (PredictionTrajectories masked = PredictionTrajectories.fromRun(lens, run, inputs, true)) {
                            put(out, name + "_masked.", List.of(masked.entropy(), masked.maxProbability()));
                        }
                    }
                }
                PredictionTrajectories trajectories = plain.get(name);
                if (options.slice() != null) {
                    try (PredictionTrajectories sliced = trajectories.slice(options.slice().start(),
                            options.slice().end())) {
                        put(out, name + ".slice.", sliced.all());
                    }
                }
                if (options.stride() > 0) {
                    List<TrajectoryStatistic> strided = new ArrayList<>();
                    all.forEach(s -> strided.add(s.stride(options.stride())));
                    put(out, name + ".stride.", strided);
                }
            }
            for (String a : plain.keySet()) {
                for (String b : plain.keySet()) {
                    if (!a.equals(b)) {
                        put(out, a + "_vs_" + b + ".", comparisons(plain.get(a), plain.get(b)));
                    }
                }
            }
            if (plain.containsKey("tuned") && plain.containsKey("logit")) {
                distances(distances, out.get("tuned_vs_logit.kl_divergence"), out.get("tuned_vs_logit.jensen_shannon"));
            }
        } finally {
            plain.values().forEach(PredictionTrajectories::close);
        }
        return new TrajectoryStatsReport(out, distances);
    }

    /**
     * As float32 tensors: {@code {name}} [row, pos] (the mean over the batch), {@code {name}.per_sequence}
     * [batch, row, pos], and the distances [n_layers, batch, pos]; they belong to {@code manager}.
     */
    public Map<String, NDArray> toTensors(NDManager manager) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        statistics.forEach((name, statistic) -> {
            tensors.put(name, statistic.batchedArray(manager));
            tensors.put(name + PER_SEQUENCE, statistic.perSequenceArray(manager));
        });
        distances.forEach((name, values) -> {
            int layers = values.length;
            int batch = values[0].length;
            int pos = values[0][0].length;
            float[] flat = new float[layers * batch * pos];
            for (int l = 0; l < layers; l++) {
                for (int b = 0; b < batch; b++) {
                    System.arraycopy(values[l][b], 0, flat, (l * batch + b) * pos, pos);
                }
            }
            tensors.put(name, manager.create(flat, new Shape(layers, batch, pos)));
        });
        return tensors;
    }

    private static List<TrajectoryStatistic> comparisons(PredictionTrajectories a, PredictionTrajectories b) {
        return List.of(TrajectoryComparison.klDivergence(a, b),
                TrajectoryComparison.halfSymmetrisedKl(a, b).named("js_divergence"),
                TrajectoryComparison.maxAbsoluteDifference(a, b).named("total_variation"),
                TrajectoryComparison.jensenShannon(a, b), TrajectoryComparison.totalVariationDistance(a, b));
    }

    /** The library's distances from the tuned-vs-logit KL and Jensen–Shannon [batch][row][pos]. */
    private static void distances(Map<String, float[][][]> out, TrajectoryStatistic klStatistic,
            TrajectoryStatistic jsStatistic) {
        float[][][] kl = klStatistic.perSequence();
        float[][][] js = jsStatistic.perSequence();
        int batch = kl.length;
        int layers = kl[0].length - 1;
        int pos = kl[0][0].length;
        float[][][] klByLayer = new float[layers][batch][pos];
        float[][][] jsByLayer = new float[layers][batch][pos];
        float[][][] distance = new float[layers][batch][pos];
        for (int l = 0; l < layers; l++) {
            for (int b = 0; b < batch; b++) {
                for (int p = 0; p < pos; p++) {
                    klByLayer[l][b][p] = kl[b][l][p];
                    jsByLayer[l][b][p] = js[b][l][p];
                    distance[l][b][p] = (float) Math.sqrt(Math.max(0, js[b][l][p]));
                }
            }
        }
        out.put("distance.kl_divergence", klByLayer);
        out.put("distance.js_divergence", jsByLayer);
        out.put("distance.js_distance", distance);
    }

    private static void put(Map<String, TrajectoryStatistic> out, String prefix, List<TrajectoryStatistic> statistics) {
        statistics.forEach(statistic -> out.put(prefix + statistic.name(), statistic));
    }
}
