package dev.loupe.viz;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.analysis.patching.PatchMetric;
import dev.loupe.analysis.patching.Patching;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.cache.LabelledStack;
import dev.loupe.cache.PosSlice;
import dev.loupe.cache.StackOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.model.Losses;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TokenDisplay;
import java.util.ArrayList;
import java.util.List;

/**
 * Real data for the views, computed once from the gpt2-tok fixture (GPT-2's architecture and
 * vocabulary, random weights, 2 layers of 4 heads) on one sentence.
 */
final class DemoData {
    static final String PROMPT = "The quick brown fox jumps over the lazy dog.";
    static final String CORRUPTED = "The slow brown cat jumps over the lazy dog.";

    final List<String> tokens;
    final List<AttentionPatterns> attention = new ArrayList<>();
    final TrajectoryData trajectory;
    final Heatmap patching;
    final BarChart topPredictions;
    final ColoredTokens loss;
    final BarChart logitAttribution;
    /** The logit difference ␣jumps − ␣runs at the last position, less the unembedding biases' share. */
    final float attributedLogitDiff;

    private static DemoData instance;

    static synchronized DemoData get() {
        if (instance == null) {
            instance = new DemoData();
        }
        return instance;
    }

    private DemoData() {
        // Processed weights (TransformerLens's default), so that logit attributions add up to the logit difference.
        try (HookedTransformer model = HookedTransformer.fromPretrained(Fixtures.model("gpt2-tok"));
                NDManager manager = NDManager.newBaseManager()) {
            NDArray ids = model.toTokens(PROMPT, manager);
            NDArray corrupted = model.toTokens(CORRUPTED, manager);
            long[] idArray = ids.toLongArray();
            tokens = TokenDisplay.labels(model.tokenizer(), idArray);
            try (ActivationCache cache = model.runWithCache(ids, CacheOptions.all())) {
                for (int layer = 0; layer < model.config().nLayers(); layer++) {
                    attention.add(AttentionPatterns.fromCache(cache, layer, 0, tokens));
                }
                trajectory = LensTrajectory.fromCache(model, dev.loupe.lens.LogitLens.of(model), cache, 0, idArray, 5);

                TrajectoryData.Cell last = trajectory.cells().get(trajectory.layers().size() - 1).get(tokens.size() - 1);
                topPredictions = new BarChart("Top predictions after the last token", last.topTokens(),
                        last.topProbs(), "probability");

                float[] perToken = Losses.crossEntropy(cache.logits(), ids, null, true).toFloatArray();
                loss = ColoredTokens.of("Loss of predicting each token", tokens.subList(1, tokens.size()), perToken,
                        "loss (nats)");

                long answer = model.toSingleToken(" jumps");
                long wrong = model.toSingleToken(" runs");
                LabelledStack parts = cache.decomposeResid(StackOptions.defaults().withPosSlice(PosSlice.at(-1)));
                NDArray attrs = cache.logitAttrs(parts.stack(), manager.create(new long[] {answer}),
                        manager.create(new long[] {wrong}), PosSlice.at(-1)); // [components, batch = 1]
                logitAttribution = BarChart.of("Logit attribution: ␣jumps − ␣runs at the last position", parts, attrs,
                        "logit diff");
                NDArray lastLogits = cache.logits().get(new NDIndex(0, -1));
                NDArray bias = model.stateDict().get("unembed.b_U");
                attributedLogitDiff = lastLogits.getFloat(answer) - bias.getFloat(answer)
                        - (lastLogits.getFloat(wrong) - bias.getFloat(wrong));
                float[] map = Patching.residPre(model, corrupted, cache, PatchMetric.logitDiff(answer, wrong))
                        .toFloatArray();
                int nLayers = model.config().nLayers();
                float[][] values = new float[nLayers][tokens.size()];
                for (int l = 0; l < nLayers; l++) {
                    System.arraycopy(map, l * tokens.size(), values[l], 0, tokens.size());
                }
                List<String> layers = new ArrayList<>();
                for (int l = 0; l < nLayers; l++) {
                    layers.add(String.valueOf(l));
                }
                patching = Heatmap.diverging("Patching resid_pre (clean → corrupted)", "layer", layers, "position",
                        tokens, values, "logit diff ␣jumps − ␣runs");
            }
        }
    }

    /**
     * A second lens for the lens picker: the logit lens's trajectory with each cell's top-1 and top-2
     * tokens swapped, so that it differs visibly.
     */
    TrajectoryData secondLens() {
        List<List<TrajectoryData.Cell>> rows = new ArrayList<>();
        for (List<TrajectoryData.Cell> row : trajectory.cells()) {
            List<TrajectoryData.Cell> swapped = new ArrayList<>();
            for (TrajectoryData.Cell cell : row) {
                List<String> tokens = new ArrayList<>(cell.topTokens());
                java.util.Collections.swap(tokens, 0, 1);
                swapped.add(new TrajectoryData.Cell(tokens, cell.topProbs(), cell.entropy(), cell.klToFinal()));
            }
            rows.add(swapped);
        }
        return new TrajectoryData("swapped lens", trajectory.tokens(), trajectory.layers(), rows);
    }

    /** Every view of the data in one report. */
    HtmlReport report() {
        return HtmlReport.titled("Loupe views of gpt2-tok")
                .paragraph("Random weights: the views show the machinery, not a trained model.")
                .heading("Prompt: " + PROMPT)
                .attention("Attention patterns", attention)
                .trajectory("Prediction trajectory", List.of(trajectory, secondLens()))
                .heatmap(patching)
                .barChart(topPredictions)
                .barChart(logitAttribution)
                .coloredTokens(loss);
    }
}
