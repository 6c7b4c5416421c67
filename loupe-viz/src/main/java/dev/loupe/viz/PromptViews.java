package dev.loupe.viz;

import ai.djl.ndarray.NDManager;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
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
        int nLayers = model.config().nLayers();
        List<String> tokens = TokenText.labels(model, ids);
        List<AttentionPatterns> attention = new ArrayList<>();
        TrajectoryData trajectory;
        try (NDManager manager = NDManager.newBaseManager();
                ActivationCache cache = model.runWithCache(manager.create(ids).reshape(1, ids.length),
                        CacheOptions.matching("blocks\\.\\d+\\.(attn\\.hook_pattern|hook_resid_(pre|post))"))) {
            for (int layer = 0; layer < nLayers; layer++) {
                attention.add(AttentionPatterns.fromCache(cache, layer, 0, tokens));
            }
            trajectory = LogitLensTrajectory.compute(model, cache, 0, tokens, topK);
        }
        TrajectoryData.Cell last = trajectory.cells().get(nLayers).get(ids.length - 1);
        return report.heading(heading)
                .attention("Attention patterns", attention)
                .trajectory("Prediction trajectory (logit lens)", List.of(trajectory))
                .barChart(new BarChart("Top " + last.topTokens().size() + " next-token predictions after \u201c"
                        + tokens.get(ids.length - 1) + "\u201d", last.topTokens(), last.topProbs(), "probability"));
    }
}
