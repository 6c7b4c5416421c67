package dev.loupe.server.explore;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.LoupeException;
import dev.loupe.hook.HookSpec;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensInputs;
import dev.loupe.lens.LensStats;
import dev.loupe.lens.LogitLens;
import dev.loupe.lens.PredictionTrajectory;
import java.util.ArrayList;
import java.util.List;

/**
 * Prediction trajectories, {@code POST /api/v1/trajectory}: the logit lens and (when the model has
 * one) the tuned lens read at every layer and position ({@link PredictionTrajectory}), with every
 * statistic the page can colour by.
 *
 * @param tokens the prompt's ids [pos]
 * @param strings each token as shown [pos]
 * @param lenses the logit lens, then the tuned lens if loaded
 */
public record TrajectoryView(long[] tokens, List<String> strings, List<LensRows> lenses) {

    /**
     * What a trajectory request sends.
     *
     * @param target a token id whose rank to track at every cell, or null (then no ranks)
     */
    public record Request(String model, Prompt prompt, Integer topK, Long target, List<Intervention> interventions) {}

    /**
     * One lens's trajectory. Rows are layers 0..n_layers-1 then {@code "output"}.
     *
     * @param lens "logit lens" or "tuned lens"
     * @param layers row labels
     * @param topTokens [row][pos][k] top token ids
     * @param topStrings [row][pos][k] as shown
     * @param topProbs [row][pos][k] their probabilities
     * @param entropy [row][pos] nats
     * @param klToFinal [row][pos] KL(output ‖ lens), nats
     * @param crossEntropy [row][pos - 1] the loss of predicting the actual next token, nats
     * @param targetRank [row][pos] 1-based rank of the target, or null without a target
     */
    public record LensRows(String lens, List<String> layers, long[][][] topTokens, List<List<List<String>>> topStrings,
            float[][][] topProbs, float[][] entropy, float[][] klToFinal, float[][] crossEntropy, int[][] targetRank) {}

    /** Reads {@code ids} [pos] with every lens of {@code served}. */
    public static TrajectoryView compute(ServedModel served, long[] ids, int topK, Long target, List<HookSpec> hooks) {
        if (target != null && (target < 0 || target >= served.model().config().dVocabOut())) {
            throw new LoupeException("target " + target + " is outside the vocabulary 0.."
                    + (served.model().config().dVocabOut() - 1));
        }
        List<Lens> lenses = new ArrayList<>();
        lenses.add(LogitLens.of(served.model()));
        if (served.tunedLens() != null) {
            lenses.add(served.tunedLens());
        }
        List<LensRows> rows = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(ids).reshape(1, ids.length);
            for (Lens lens : lenses) {
                try (LensInputs inputs = LensInputs.run(served.model(), tokens, null, lens.hook(), hooks)) {
                    PredictionTrajectory t = PredictionTrajectory.fromInputs(lens, inputs, 0, ids, served.model(), target,
                            topK);
                    rows.add(new LensRows(t.lensName(), t.layerLabels(), t.topTokens(), t.topTokenStrings(), t.topProbs(),
                            t.entropy(), t.klToFinal(), crossEntropy(lens, inputs, tokens), t.targetRank()));
                }
            }
        }
        return new TrajectoryView(ids, served.labels(ids), rows);
    }

    /** Each row's loss on the actual next tokens [rows][pos - 1], as tuned-lens scores a lens. */
    private static float[][] crossEntropy(Lens lens, LensInputs inputs, NDArray tokens) {
        int layers = lens.numLayers();
        float[][] out = new float[layers + 1][];
        try (NDManager scratch = NDManager.newBaseManager()) {
            NDArray labels = LensStats.shiftLabels(tokens, 1);
            for (int row = 0; row <= layers; row++) {
                NDArray logits = row == layers ? inputs.logits().get(scratch, new NDIndex("0:1"))
                        : lens.forward(inputs.hidden(row).get(scratch, new NDIndex("0:1")), row);
                out[row] = LensStats.crossEntropy(LensStats.shiftPredictions(logits, 1), labels).toFloatArray();
            }
        }
        return out;
    }
}
