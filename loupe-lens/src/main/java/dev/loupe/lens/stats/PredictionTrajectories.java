package dev.loupe.lens.stats;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensInputs;
import dev.loupe.model.HookedTransformer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A batch read through one lens at every layer: the tuned-lens library's {@code PredictionTrajectory}
 * for several sequences at once. Row {@code r < n_layers} holds {@code log_softmax} of the lens at
 * layer {@code r}, the last row the model's own output; each row is [batch, pos, d_vocab], so the
 * whole is the library's {@code log_probs} [batch, n_layers + 1, pos, d_vocab] (mind its size: it is
 * kept in memory, as the library keeps it).
 *
 * <p>Statistics come back per sequence with the batch's attention mask, so padding is left out of
 * {@link TrajectoryStatistic#batched()}. Owns its arrays: close it.
 */
public final class PredictionTrajectories implements AutoCloseable {
    /** What masked logits are set to: {@code −finfo(float32).max}, as the library. */
    static final float MASKED_LOGIT = -Float.MAX_VALUE;

    private final NDManager manager;
    private final List<NDArray> logProbs;
    private final TrajectoryInputs inputs;

    private PredictionTrajectories(NDManager manager, List<NDArray> logProbs, TrajectoryInputs inputs) {
        this.manager = manager;
        this.logProbs = logProbs;
        this.inputs = inputs;
    }

    /**
     * Runs {@code model} on the inputs (with their attention mask) and reads every layer through {@code lens}.
     *
     * @param maskInput set, at every lens layer (not the output) and every position, the logits of every
     *     token occurring among the sequence's real input ids to {@code −finfo(float32).max}, as the
     *     library's {@code mask_input}
     */
    public static PredictionTrajectories compute(Lens lens, HookedTransformer model, TrajectoryInputs inputs,
            boolean maskInput) {
        try (NDManager scratch = NDManager.newBaseManager();
             LensInputs run = LensInputs.run(model, inputs.inputIdsArray(scratch), inputs.attentionMaskArray(scratch),
                     lens.hook(), List.of())) {
            return fromRun(lens, run, inputs, maskInput);
        }
    }

    /** As {@link #compute} on a run the caller made of {@code inputs.inputIds()}, which it keeps owning. */
    public static PredictionTrajectories fromRun(Lens lens, LensInputs run, TrajectoryInputs inputs, boolean maskInput) {
        Shape logitsShape = run.logits().getShape();
        if (logitsShape.get(0) != inputs.batchSize() || logitsShape.get(1) != inputs.length()) {
            throw new LoupeException("The run has logits " + logitsShape + " but the inputs are [" + inputs.batchSize()
                    + ", " + inputs.length() + "]; run the model on these input ids");
        }
        int vocab = (int) logitsShape.get(2);
        checkVocabulary(inputs.targets(), vocab, TrajectoryInputs.TARGETS);
        checkVocabulary(inputs.antiTargets(), vocab, TrajectoryInputs.ANTI_TARGETS);
        NDManager manager = NDManager.newBaseManager();
        List<NDArray> rows = new ArrayList<>();
        try (NDScope scope = new NDScope()) {
            NDArray masked = maskInput ? inputTokens(inputs, vocab, manager) : null; // [batch, 1, vocab], 1 = masked
            NDArray keep = masked == null ? null : masked.neg().add(1);
            NDArray fill = masked == null ? null : masked.mul(MASKED_LOGIT);
            for (int layer = 0; layer <= lens.numLayers(); layer++) {
                NDArray logits = layer == lens.numLayers() ? run.logits() : lens.forward(run.hidden(layer), layer);
                if (masked != null && layer < lens.numLayers()) {
                    // Multiplying by 1 and adding 0 leaves the other logits exactly as they were.
                    logits = logits.mul(keep).add(fill);
                }
                NDArray lp = logits.toType(DataType.FLOAT32, false).logSoftmax(-1); // [batch, pos, vocab]
                NDScope.unregister(lp);
                lp.attach(manager);
                rows.add(lp);
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        return new PredictionTrajectories(manager, rows, inputs);
    }

    /** The inputs the statistics are computed for. */
    public TrajectoryInputs inputs() {
        return inputs;
    }

    /** Rows: the lens's layers and the output. */
    public int rows() {
        return logProbs.size();
    }

    /** Row {@code row}'s log-probabilities [batch, pos, d_vocab]; owned by this object. */
    public NDArray logProbs(int row) {
        return logProbs.get(row);
    }

    /**
     * Positions {@code start} to {@code end} (Python slice semantics: null is open, negative counts
     * from the end, out-of-range is clamped) of the log-probabilities and every input, the output row
     * included: the library's {@code slice_sequence}. A new object to close.
     */
    public PredictionTrajectories slice(Integer start, Integer end) {
        int length = inputs.length();
        int from = resolve(start, 0, length);
        int to = Math.max(from, resolve(end, length, length));
        if (to == from) {
            throw new LoupeException("The slice " + (start == null ? "" : start) + ":" + (end == null ? "" : end)
                    + " keeps no position of " + length + "; pick a range inside 0.." + length);
        }
        NDManager sliced = NDManager.newBaseManager();
        List<NDArray> rows = new ArrayList<>();
        for (NDArray lp : logProbs) {
            NDArray part = lp.get(":, " + from + ":" + to).duplicate();
            part.attach(sliced);
            rows.add(part);
        }
        return new PredictionTrajectories(sliced, rows, inputs.slice(from, to));
    }

    /** {@code −log p(target)}. */
    public TrajectoryStatistic crossEntropy() {
        return perRow("cross_entropy", lp -> pick(lp, needed(inputs.targets(), "cross_entropy")).neg());
    }

    /** {@code −Σ_v p log p}. */
    public TrajectoryStatistic entropy() {
        return perRow("entropy", lp -> lp.exp().mul(lp).sum(new int[] {-1}).neg());
    }

    /** {@code KL(p_output ‖ p_row) = Σ_v p_output (log p_output − log p_row)}; 0 in the output row. */
    public TrajectoryStatistic forwardKl() {
        NDArray output = logProbs.get(logProbs.size() - 1);
        return perRow("forward_kl", lp -> output.exp().mul(output.sub(lp)).sum(new int[] {-1}));
    }

    /** The probability of the most probable token. */
    public TrajectoryStatistic maxProbability() {
        return perRow("max_probability", lp -> lp.max(new int[] {-1}).exp());
    }

    /** The target's rank: 1 + how many tokens are strictly more probable (1 = the top prediction). */
    public TrajectoryStatistic rank() {
        long[][] targets = needed(inputs.targets(), "rank");
        return perRow("rank", lp -> lp.gt(pick(lp, targets).expandDims(-1)).toType(DataType.FLOAT32, false)
                .sum(new int[] {-1}).add(1));
    }

    /** {@code log p(target) − log p(anti-target)}. */
    public TrajectoryStatistic logProbDiff() {
        long[][] targets = needed(inputs.targets(), "log_prob_diff");
        long[][] anti = needed(inputs.antiTargets(), "log_prob_diff");
        return perRow("log_prob_diff", lp -> pick(lp, targets).sub(pick(lp, anti)));
    }

    /** Row {@code r + 1} minus row {@code r} of {@link #logProbDiff()}: one row fewer, the output taking part. */
    public TrajectoryStatistic logProbDiffDelta() {
        float[][][] diff = logProbDiff().perSequence();
        float[][][] delta = new float[diff.length][diff[0].length - 1][diff[0][0].length];
        for (int b = 0; b < diff.length; b++) {
            for (int r = 0; r + 1 < diff[b].length; r++) {
                for (int p = 0; p < diff[b][r].length; p++) {
                    delta[b][r][p] = diff[b][r + 1][p] - diff[b][r][p];
                }
            }
        }
        List<String> labels = new ArrayList<>();
        List<String> rows = TrajectoryStatistic.layerLabels(logProbs.size() - 1);
        for (int r = 0; r + 1 < rows.size(); r++) {
            labels.add(rows.get(r) + "→" + rows.get(r + 1));
        }
        return new TrajectoryStatistic("log_prob_diff_delta", labels, delta, inputs.attentionMask());
    }

    /** Every per-position statistic the inputs allow, in the library's names. */
    public List<TrajectoryStatistic> all() {
        List<TrajectoryStatistic> all = new ArrayList<>();
        if (inputs.targets() != null) {
            all.add(crossEntropy());
        }
        all.add(entropy());
        all.add(forwardKl());
        all.add(maxProbability());
        if (inputs.targets() != null) {
            all.add(rank());
            if (inputs.antiTargets() != null) {
                all.add(logProbDiff());
                all.add(logProbDiffDelta());
            }
        }
        return all;
    }

    /** {@code statistic} of every row [batch, pos] → [batch][row][pos]. */
    TrajectoryStatistic perRow(String name, Function<NDArray, NDArray> statistic) {
        int batch = inputs.batchSize();
        int pos = inputs.length();
        float[][][] values = new float[batch][logProbs.size()][pos];
        for (int row = 0; row < logProbs.size(); row++) {
            try (NDScope scope = new NDScope()) {
                float[] flat = statistic.apply(logProbs.get(row)).toType(DataType.FLOAT32, false).toFloatArray();
                for (int b = 0; b < batch; b++) {
                    System.arraycopy(flat, b * pos, values[b][row], 0, pos);
                }
            }
        }
        return new TrajectoryStatistic(name, TrajectoryStatistic.layerLabels(logProbs.size() - 1), values,
                inputs.attentionMask());
    }

    @Override
    public void close() {
        manager.close();
    }

    /** log p of one token per position: lp [batch, pos, vocab], ids [batch][pos] → [batch, pos]. */
    private static NDArray pick(NDArray lp, long[][] ids) {
        NDArray index = lp.getManager().create(ids).expandDims(-1);
        return lp.gather(index, -1).squeeze(-1);
    }

    private static long[][] needed(long[][] ids, String statistic) {
        if (ids == null) {
            throw new LoupeException(statistic + " needs targets (and log_prob_diff anti-targets) [batch, pos]; give"
                    + " them with the input ids");
        }
        return ids;
    }

    /** [batch, 1, vocab]: 1 for every token among the sequence's real input ids, else 0. */
    private static NDArray inputTokens(TrajectoryInputs inputs, int vocab, NDManager manager) {
        float[] seen = new float[inputs.batchSize() * vocab];
        for (int b = 0; b < inputs.batchSize(); b++) {
            for (int p = 0; p < inputs.length(); p++) {
                long id = inputs.inputIds()[b][p];
                if (inputs.isReal(b, p) && id >= 0 && id < vocab) {
                    seen[b * vocab + (int) id] = 1;
                }
            }
        }
        return manager.create(seen, new Shape(inputs.batchSize(), 1, vocab));
    }

    private static void checkVocabulary(long[][] ids, int vocab, String name) {
        if (ids == null) {
            return;
        }
        for (long[] row : ids) {
            for (long id : row) {
                if (id < 0 || id >= vocab) {
                    throw new LoupeException("'" + name + "' holds token " + id + ", outside the vocabulary 0.."
                            + (vocab - 1) + "; give token ids of this model (padding positions too)");
                }
            }
        }
    }

    private static int resolve(Integer index, int absent, int length) {
        if (index == null) {
            return absent;
        }
        int resolved = index < 0 ? index + length : index;
        return Math.max(0, Math.min(length, resolved));
    }
}
