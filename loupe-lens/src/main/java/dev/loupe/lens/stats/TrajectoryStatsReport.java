package dev.loupe.lens.stats;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensInputs;
import dev.loupe.model.HookedTransformer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every trajectory statistic of a batch for one or more lenses, as float32 tensors named as the
 * tuned-lens fixtures name them: {@code {lens}.{statistic}} [row, pos] (mean over the batch) and
 * {@code {lens}.{statistic}.per_sequence} [batch, row, pos]; for each ordered pair of lenses
 * {@code {a}_vs_{b}.kl_divergence}, the library's {@code js_divergence} (half the symmetrised KL) and
 * {@code total_variation} (max |p_a − p_b|), and the true {@code jensen_shannon} and
 * {@code total_variation_distance}; with a lens named {@code tuned} beside {@code logit},
 * {@code distance.{kl_divergence,js_divergence,js_distance}} [n_layers, batch, pos] (tuned vs logit,
 * the true Jensen–Shannon, as the library's {@code tuned_lens.stats}); and what {@link TrajectoryStatsOptions}
 * asks for.
 */
public final class TrajectoryStatsReport {
    private static final String PER_SEQUENCE = ".per_sequence";

    private TrajectoryStatsReport() {}

    /**
     * Computes the statistics of {@code lenses} (name → lens, e.g. {@code "logit"}, {@code "tuned"})
     * on {@code inputs}; the tensors belong to {@code manager}.
     */
    public static Map<String, NDArray> compute(HookedTransformer model, Map<String, Lens> lenses, TrajectoryInputs inputs,
            TrajectoryStatsOptions options, NDManager manager) {
        if (lenses.isEmpty()) {
            throw new LoupeException("Name at least one lens to compute trajectory statistics for");
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        Map<String, PredictionTrajectories> plain = new LinkedHashMap<>();
        try (NDManager scratch = NDManager.newBaseManager()) {
            for (Map.Entry<String, Lens> entry : lenses.entrySet()) {
                String name = entry.getKey();
                Lens lens = entry.getValue();
                try (LensInputs run = LensInputs.run(model, inputs.inputIdsArray(scratch),
                        inputs.attentionMaskArray(scratch), lens.hook(), List.of())) {
                    PredictionTrajectories trajectories = PredictionTrajectories.fromRun(lens, run, inputs, false);
                    plain.put(name, trajectories);
                    put(out, name + ".", trajectories.all(), manager, true);
                    if (options.maskInput()) {
                        try (PredictionTrajectories masked = PredictionTrajectories.fromRun(lens, run, inputs, true)) {
                            put(out, name + "_masked.", List.of(masked.entropy(), masked.maxProbability()), manager, true);
                        }
                    }
                    if (options.slice() != null) {
                        try (PredictionTrajectories sliced = trajectories.slice(options.slice().start(),
                                options.slice().end())) {
                            put(out, name + ".slice.", sliced.all(), manager, false);
                        }
                    }
                    if (options.stride() > 0) {
                        List<TrajectoryStatistic> strided = new ArrayList<>();
                        trajectories.all().forEach(s -> strided.add(s.stride(options.stride())));
                        put(out, name + ".stride.", strided, manager, false);
                    }
                }
            }
            for (String a : plain.keySet()) {
                for (String b : plain.keySet()) {
                    if (!a.equals(b)) {
                        comparisons(out, a + "_vs_" + b + ".", plain.get(a), plain.get(b), manager);
                    }
                }
            }
            if (plain.containsKey("tuned") && plain.containsKey("logit")) {
                distances(out, plain.get("tuned"), plain.get("logit"), manager);
            }
        } finally {
            plain.values().forEach(PredictionTrajectories::close);
        }
        return out;
    }

    private static void comparisons(Map<String, NDArray> out, String prefix, PredictionTrajectories a,
            PredictionTrajectories b, NDManager manager) {
        List<TrajectoryStatistic> library = List.of(TrajectoryComparison.klDivergence(a, b),
                renamed(TrajectoryComparison.halfSymmetrisedKl(a, b), "js_divergence"),
                renamed(TrajectoryComparison.maxAbsoluteDifference(a, b), "total_variation"),
                TrajectoryComparison.jensenShannon(a, b), TrajectoryComparison.totalVariationDistance(a, b));
        put(out, prefix, library, manager, true);
    }

    /** The library's {@code tuned_lens.stats} distances, layer-major [n_layers, batch, pos]: the output row left out. */
    private static void distances(Map<String, NDArray> out, PredictionTrajectories tuned, PredictionTrajectories logit,
            NDManager manager) {
        float[][][] kl = TrajectoryComparison.klDivergence(tuned, logit).perSequence();
        float[][][] js = TrajectoryComparison.jensenShannon(tuned, logit).perSequence();
        int batch = kl.length;
        int layers = kl[0].length - 1;
        int pos = kl[0][0].length;
        float[] klFlat = new float[layers * batch * pos];
        float[] jsFlat = new float[layers * batch * pos];
        float[] distanceFlat = new float[layers * batch * pos];
        for (int l = 0; l < layers; l++) {
            for (int b = 0; b < batch; b++) {
                for (int p = 0; p < pos; p++) {
                    int i = (l * batch + b) * pos + p;
                    klFlat[i] = kl[b][l][p];
                    jsFlat[i] = js[b][l][p];
                    distanceFlat[i] = (float) Math.sqrt(Math.max(0, js[b][l][p]));
                }
            }
        }
        Shape shape = new Shape(layers, batch, pos);
        out.put("distance.kl_divergence", manager.create(klFlat, shape));
        out.put("distance.js_divergence", manager.create(jsFlat, shape));
        out.put("distance.js_distance", manager.create(distanceFlat, shape));
    }

    private static TrajectoryStatistic renamed(TrajectoryStatistic statistic, String name) {
        return new TrajectoryStatistic(name, statistic.perSequence(), statistic.attentionMask());
    }

    private static void put(Map<String, NDArray> out, String prefix, List<TrajectoryStatistic> statistics,
            NDManager manager, boolean perSequence) {
        for (TrajectoryStatistic statistic : statistics) {
            out.put(prefix + statistic.name(), statistic.batchedArray(manager));
            if (perSequence) {
                out.put(prefix + statistic.name() + PER_SEQUENCE, statistic.perSequenceArray(manager));
            }
        }
    }
}
