package dev.loupe.viz;

import ai.djl.ndarray.NDManager;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LogitLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenDisplay;
import java.util.ArrayList;
import java.util.List;

/**
 * The first views of a prompt, as {@code loupe demo} shows them: every layer's attention patterns, the
 * logit-lens trajectory, and the model's top predictions after the last token.
 */
public final class PromptViews {
    private PromptViews() {}

    /**
     * Runs the model once on {@code ids} and adds, under {@code heading}, its attention patterns, its
     * logit-lens trajectory and its top {@code topK} next-token predictions to {@code report}.
     *
     * @param ids the token ids [pos] of one sequence
     * @return {@code report}
     */
    public static HtmlReport addTo(HtmlReport report, HookedTransformer model, String heading, long[] ids, int topK) {
        return addTo(report, model, List.of(), heading, ids, topK);
    }

    /**
     * As {@link #addTo(HtmlReport, HookedTransformer, String, long[], int)}, with the trajectories of
     * {@code lenses} (tuned lenses, say) after the logit lens's.
     */
    public static HtmlReport addTo(HtmlReport report, HookedTransformer model, List<? extends Lens> lenses,
            String heading, long[] ids, int topK) {
        return addTo(report, model, lenses, heading, ids, topK, 0, 0);
    }

    /**
     * As {@link #addTo(HtmlReport, HookedTransformer, List, String, long[], int)}, with the attention view
     * opening on head {@code openHead} of layer {@code openLayer}.
     */
    public static HtmlReport addTo(HtmlReport report, HookedTransformer model, List<? extends Lens> lenses,
            String heading, long[] ids, int topK, int openLayer, int openHead) {
        int nLayers = model.config().nLayers();
        List<String> tokens = TokenDisplay.labels(model.hasTokenizer() ? model.tokenizer() : null, ids);
        List<AttentionPatterns> attention = new ArrayList<>();
        List<TrajectoryData> trajectories = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager();
                ActivationCache cache = model.runWithCache(manager.create(ids).reshape(1, ids.length),
                        CacheOptions.matching("blocks\\.\\d+\\.(attn\\.hook_pattern|hook_resid_(pre|post))"))) {
            for (int layer = 0; layer < nLayers; layer++) {
                attention.add(AttentionPatterns.fromCache(cache, layer, 0, tokens));
            }
            trajectories.add(LensTrajectory.fromCache(model, LogitLens.of(model), cache, 0, ids, topK));
        }
        for (Lens lens : lenses) {
            trajectories.add(LensTrajectory.run(model, lens, ids, topK));
        }
        TrajectoryData trajectory = trajectories.get(0);
        TrajectoryData.Cell last = trajectory.cells().get(nLayers).get(ids.length - 1);
        return report.heading(heading)
                .attention("Attention patterns", attention, openLayer, openHead)
                .trajectory(lenses.isEmpty() ? "Prediction trajectory (logit lens)" : "Prediction trajectories",
                        trajectories)
                .barChart(new BarChart("Top " + last.topTokens().size() + " next-token predictions after \u201c"
                        + tokens.get(ids.length - 1) + "\u201d", last.topTokens(), last.topProbs(), "probability"));
    }
}
