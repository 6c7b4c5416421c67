package dev.loupe.viz;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensHook;
import dev.loupe.lens.LensInputs;
import dev.loupe.lens.LogitLens;
import dev.loupe.lens.PredictionTrajectory;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenDisplay;
import java.util.ArrayList;
import java.util.List;

/**
 * A lens's prediction trajectory ({@link PredictionTrajectory}, from loupe-lens) as the views draw
 * it: row {@code l < n_layers} is the lens at layer {@code l} (row 0 reads the embeddings), the last
 * row is the model's own output, whose KL to the output is 0.
 */
public final class LensTrajectory {
    private LensTrajectory() {}

    /** The residual stream hooks a lens reading {@code hook} needs: cache them with these options. */
    public static CacheOptions cacheOptions(LensHook hook) {
        return CacheOptions.matching("blocks\\.\\d+\\.hook_(" + hook.key() + "|resid_post)");
    }

    /** The logit lens on one sequence of token ids [pos], each cell keeping its {@code topK} tokens. */
    public static TrajectoryData logitLens(HookedTransformer model, long[] ids, int topK) {
        return run(model, LogitLens.of(model), ids, topK);
    }

    /** Runs the model on token ids [pos] and reads every layer with {@code lens}. */
    public static TrajectoryData run(HookedTransformer model, Lens lens, long[] ids, int topK) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, ids.length);
            return of(PredictionTrajectory.compute(lens, model, tokens, null, topK, List.of()));
        }
    }

    /**
     * Reads sequence {@code batch} of a cache the caller made (it must hold what {@link
     * #cacheOptions} names, and the logits).
     */
    public static TrajectoryData fromCache(HookedTransformer model, Lens lens, ActivationCache cache, int batch,
            long[] ids, int topK) {
        try (LensInputs inputs = LensInputs.fromCache(cache, lens.hook(), model.config().nLayers())) {
            return of(PredictionTrajectory.fromInputs(lens, inputs, batch, ids, model, null, topK));
        }
    }

    /** The trajectory with tokens shown as the views show them ({@code ␣} for a space). */
    public static TrajectoryData of(PredictionTrajectory trajectory) {
        List<String> layers = new ArrayList<>();
        List<List<TrajectoryData.Cell>> rows = new ArrayList<>();
        for (int row = 0; row < trajectory.layerLabels().size(); row++) {
            String label = trajectory.layerLabels().get(row);
            layers.add(label.equals("output") ? label : "layer " + label);
            List<TrajectoryData.Cell> cells = new ArrayList<>();
            for (int pos = 0; pos < trajectory.inputIds().length; pos++) {
                List<String> top = trajectory.topTokenStrings().get(row).get(pos).stream().map(TokenDisplay::display)
                        .toList();
                // Rounding can give a tiny negative KL where the distributions agree.
                cells.add(new TrajectoryData.Cell(top, trajectory.topProbs()[row][pos], trajectory.entropy()[row][pos],
                        Math.max(0f, trajectory.klToFinal()[row][pos])));
            }
            rows.add(cells);
        }
        List<String> tokens = trajectory.inputTokens().stream().map(TokenDisplay::display).toList();
        return new TrajectoryData(trajectory.lensName(), tokens, layers, rows);
    }
}
