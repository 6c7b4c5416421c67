package dev.loupe.lens.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.lens.Lens;
import dev.loupe.lens.LensInputs;
import dev.loupe.lens.LensStats;
import dev.loupe.lens.LogitLens;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StopSignal;
import dev.loupe.tokenize.TokenChunks;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tuned-lens library's {@code eval}: for each batch and layer, the cross-entropy against the next
 * token, the entropy, and KL(final ‖ lens), each averaged over the batch's positions; then averaged
 * over batches and converted to bits per byte.
 */
public final class LensEvaluator {
    private static final List<String> METRICS = List.of("ce", "entropy", "kl");

    private LensEvaluator() {}

    /**
     * Evaluates the logit lens and, if given, {@code tuned} on {@code data}.
     *
     * @param tuned a tuned lens for {@code model}, or null for the logit lens alone
     * @throws dev.loupe.stop.StoppedException when the thread's {@link StopSignal} is requested, before
     *     the next batch
     */
    public static LensMetrics evaluate(HookedTransformer model, TunedLens tuned, TokenChunks data,
            LensEvalOptions options) {
        int length = sequenceLength(model, tuned, data, options);
        TokenChunks order = data.shuffled(options.seed());
        int sequences = sequences(order, length, options);
        LensBatchSums sum = null;
        int batches = 0;
        int total = (sequences + options.perGpuBatchSize() - 1) / options.perGpuBatchSize();
        StopSignal stop = StopSignal.current();
        for (int start = 0; start < sequences; start += options.perGpuBatchSize()) {
            int done = batches;
            stop.check(() -> "after batch " + done + " of " + total + "; nothing was kept");
            int count = Math.min(options.perGpuBatchSize(), sequences - start);
            try (NDManager manager = NDManager.newBaseManager()) {
                NDArray ids = manager.create(order.batch(start, count), new Shape(count, length));
                LensBatchSums sums = batch(model, tuned, ids, options);
                sum = sum == null ? sums : sum.plus(sums);
            }
            batches++;
        }
        return metrics(sum, batches, data.natsToBitsPerByte(), (long) sequences * length);
    }

    /** The length of the evaluated sequences, after checking that {@code data}, {@code tuned} and {@code options} agree. */
    public static int sequenceLength(HookedTransformer model, TunedLens tuned, TokenChunks data, LensEvalOptions options) {
        int length = Math.min(options.maxSeqLen(), model.config().nCtx());
        if (data.chunkSize() != length) {
            throw new LoupeException("The data is cut into sequences of " + data.chunkSize() + " tokens but evaluation"
                    + " uses " + length + "; chunk it to that length");
        }
        if (tuned != null && tuned.hook() != options.hook()) {
            throw new LoupeException("The tuned lens reads " + tuned.hook().key() + "; evaluate it on that hook");
        }
        return length;
    }

    /**
     * How many of {@code order}'s sequences of {@code length} an evaluation takes: all, or as many as
     * {@link LensEvalOptions#tokens()} allows.
     */
    public static int sequences(TokenChunks order, int length, LensEvalOptions options) {
        int sequences = order.chunks().size();
        if (options.tokens() != null) {
            sequences = (int) Math.min(sequences, options.tokens() / length);
            if (sequences == 0) {
                throw new LoupeException("--tokens " + options.tokens() + " is less than one sequence of " + length);
            }
        }
        return sequences;
    }

    /**
     * One batch's metrics, each the mean over the batch's positions: what {@link #evaluate} adds up over batches.
     * A distributed evaluator runs the batches anywhere and adds them up in batch order.
     *
     * @param ids token ids [batch, pos]
     */
    public static LensBatchSums batch(HookedTransformer model, TunedLens tuned, NDArray ids, LensEvalOptions options) {
        int layers = model.config().nLayers();
        LogitLens logit = LogitLens.of(model, options.hook());
        Map<String, double[]> logitSums = sums(layers);
        Map<String, double[]> tunedSums = tuned == null ? null : sums(layers);
        double[] baseline = new double[2];
        try (LensInputs inputs = LensInputs.run(model, ids, null, options.hook(), List.of())) {
            NDArray finalLogProbs = inputs.logits().logSoftmax(-1);
            NDArray labels = LensStats.shiftLabels(ids, options.tokenShift());
            for (int layer = 0; layer < layers; layer++) {
                add(logitSums, layer, logit, inputs.hidden(layer), finalLogProbs, labels, options.tokenShift());
                if (tuned != null) {
                    add(tunedSums, layer, tuned, inputs.hidden(layer), finalLogProbs, labels, options.tokenShift());
                }
            }
            NDArray finalLogits = inputs.logits();
            baseline[0] += LensStats.crossEntropy(LensStats.shiftPredictions(finalLogits, options.tokenShift()),
                    labels).mean().getFloat();
            baseline[1] += LensStats.entropy(finalLogits).mean().getFloat();
        }
        return new LensBatchSums(logitSums, tunedSums, baseline[0], baseline[1]);
    }

    /**
     * The metrics of an evaluation from its batches' sums: averaged over {@code batches} and scaled to bits per byte.
     */
    public static LensMetrics metrics(LensBatchSums sum, int batches, double natsToBitsPerByte, long tokens) {
        double scale = natsToBitsPerByte / batches;
        return new LensMetrics(scaled(sum.logit(), scale), sum.tuned() == null ? null : scaled(sum.tuned(), scale),
                sum.baselineCe() * scale, sum.baselineEntropy() * scale, natsToBitsPerByte, tokens);
    }

    private static void add(Map<String, double[]> sums, int layer, Lens lens, NDArray hidden, NDArray finalLogProbs,
            NDArray labels, int shift) {
        // A scope frees every array made here, whichever manager an op attached it to.
        try (NDScope scope = new NDScope()) {
            NDArray logits = lens.forward(hidden, layer);
            sums.get("ce")[layer] += LensStats.crossEntropy(LensStats.shiftPredictions(logits, shift), labels)
                    .mean().getFloat();
            sums.get("entropy")[layer] += LensStats.entropy(logits).mean().getFloat();
            sums.get("kl")[layer] += LensStats.klFromLogProbs(finalLogProbs, logits).mean().getFloat();
        }
    }

    private static Map<String, double[]> sums(int layers) {
        Map<String, double[]> sums = new LinkedHashMap<>();
        METRICS.forEach(name -> sums.put(name, new double[layers]));
        return sums;
    }

    private static Map<String, double[]> scaled(Map<String, double[]> sums, double scale) {
        Map<String, double[]> out = new LinkedHashMap<>();
        sums.forEach((name, values) -> {
            double[] copy = values.clone();
            for (int i = 0; i < copy.length; i++) {
                copy[i] *= scale;
            }
            out.put(name, copy);
        });
        return out;
    }
}
