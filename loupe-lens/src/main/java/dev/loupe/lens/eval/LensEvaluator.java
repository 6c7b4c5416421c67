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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tuned-lens library's {@code eval}: for each batch and layer, the cross-entropy against the next
 * token, the entropy, and KL(final ‖ lens), each averaged over the batch's positions; then averaged
 * over batches and converted to the data's unit (bits per byte for text). Optionally, as the library's
 * {@code --layer_transfer}, every translator on every layer's residual, and, as its
 * {@code --record_logit_stats}, the average prediction of every layer ({@link LogitStats}).
 */
public final class LensEvaluator {
    private static final List<String> METRICS = List.of("ce", "entropy", "kl");

    private LensEvaluator() {}

    /** As {@link #run}, the mean over batches only. */
    public static LensMetrics evaluate(HookedTransformer model, TunedLens tuned, TokenChunks data,
            LensEvalOptions options) {
        return run(model, tuned, data, options).aggregate();
    }

    /**
     * Evaluates the logit lens and, if given, {@code tuned} on {@code data}.
     *
     * @param tuned a tuned lens for {@code model}, or null for the logit lens alone
     * @throws dev.loupe.stop.StoppedException when the thread's {@link StopSignal} is requested, before
     *     the next batch
     */
    public static LensEvaluation run(HookedTransformer model, TunedLens tuned, TokenChunks data,
            LensEvalOptions options) {
        int length = sequenceLength(model, tuned, data, options);
        TokenChunks order = ordered(data, options);
        int sequences = sequences(order, length, options);
        int layers = model.config().nLayers();
        LogitLens logit = LogitLens.of(model, options.hook());
        Map<String, LogitStats> logitStats = new LinkedHashMap<>();
        if (options.recordLogitStats()) {
            int vocab = model.config().dVocabOut();
            for (String lens : tuned == null ? List.of("logit") : List.of("logit", "tuned")) {
                for (int layer = 0; layer < layers; layer++) {
                    logitStats.put(lens + ".layer_" + layer, new LogitStats(vocab));
                }
            }
            logitStats.put("baseline.final", new LogitStats(vocab));
        }
        List<LensMetrics> batches = new ArrayList<>();
        int total = (sequences + options.perGpuBatchSize() - 1) / options.perGpuBatchSize();
        StopSignal stop = StopSignal.current();
        for (int start = 0; start < sequences; start += options.perGpuBatchSize()) {
            int done = batches.size();
            stop.check(() -> "after batch " + done + " of " + total + "; nothing was kept");
            int count = Math.min(options.perGpuBatchSize(), sequences - start);
            try (NDManager manager = NDManager.newBaseManager()) {
                NDArray ids = manager.create(order.batch(start, count), new Shape(count, length));
                try (LensInputs inputs = LensInputs.run(model, ids, null, options.hook(), List.of())) {
                    batches.add(batch(inputs, ids, logit, tuned, options, logitStats));
                }
            }
        }
        LensMetrics aggregate = LensMetrics.mean(batches, data.natsToBitsPerByte());
        return new LensEvaluation(aggregate, batches, logitStats);
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

    /** The chunks in the order the evaluation takes them: shuffled with the options' seed, or as given. */
    public static TokenChunks ordered(TokenChunks data, LensEvalOptions options) {
        return options.shuffle() ? data.shuffled(options.seed()) : data;
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
     * One batch's means in nats, without logit statistics: what a distributed evaluator computes anywhere and
     * averages with {@link LensMetrics#mean} in batch order, as {@link #run} does.
     *
     * @param ids token ids [batch, pos]
     */
    public static LensMetrics batch(HookedTransformer model, TunedLens tuned, NDArray ids, LensEvalOptions options) {
        if (options.recordLogitStats()) {
            throw new LoupeException("Logit statistics are running means over every batch of one evaluation; record them"
                    + " in an evaluation on one machine (without --spark)");
        }
        try (LensInputs inputs = LensInputs.run(model, ids, null, options.hook(), List.of())) {
            return batch(inputs, ids, LogitLens.of(model, options.hook()), tuned, options, Map.of());
        }
    }

    /** One batch's means in nats. */
    private static LensMetrics batch(LensInputs inputs, NDArray ids, LogitLens logit, TunedLens tuned,
            LensEvalOptions options, Map<String, LogitStats> logitStats) {
        int shift = options.tokenShift();
        NDArray labels = LensStats.shiftLabels(ids, shift);
        NDArray finalLogProbs = inputs.logits().logSoftmax(-1);
        Map<String, double[]> logitMetrics = metrics(inputs, logit, finalLogProbs, labels, shift,
                options.recordLogitStats() ? logitStats : null, "logit");
        Map<String, double[]> tunedMetrics = tuned == null ? null : metrics(inputs, tuned, finalLogProbs, labels, shift,
                options.recordLogitStats() ? logitStats : null, "tuned");
        LayerTransfer logitTransfer = options.layerTransfer() ? transfer(inputs, logit, labels, shift) : null;
        LayerTransfer tunedTransfer = options.layerTransfer() && tuned != null ? transfer(inputs, tuned, labels, shift)
                : null;
        if (options.recordLogitStats()) {
            logitStats.get("baseline.final").update(finalLogProbs);
        }
        double ce = LensStats.crossEntropy(LensStats.shiftPredictions(inputs.logits(), shift), labels).mean().getFloat();
        double entropy = LensStats.entropy(inputs.logits()).mean().getFloat();
        return new LensMetrics(logitMetrics, tunedMetrics, ce, entropy, 1, ids.size(), logitTransfer, tunedTransfer);
    }

    private static Map<String, double[]> metrics(LensInputs inputs, Lens lens, NDArray finalLogProbs, NDArray labels,
            int shift, Map<String, LogitStats> logitStats, String name) {
        int layers = lens.numLayers();
        Map<String, double[]> out = new LinkedHashMap<>();
        METRICS.forEach(metric -> out.put(metric, new double[layers]));
        for (int layer = 0; layer < layers; layer++) {
            // A scope frees every array made here, whichever manager an op attached it to.
            try (NDScope scope = new NDScope()) {
                NDArray logits = lens.forward(inputs.hidden(layer), layer);
                out.get("ce")[layer] = LensStats.crossEntropy(LensStats.shiftPredictions(logits, shift), labels)
                        .mean().getFloat();
                out.get("entropy")[layer] = LensStats.entropy(logits).mean().getFloat();
                out.get("kl")[layer] = LensStats.klFromLogProbs(finalLogProbs, logits).mean().getFloat();
                if (logitStats != null) {
                    logitStats.get(name + ".layer_" + layer).update(logits.logSoftmax(-1));
                }
            }
        }
        return out;
    }

    /** Translator i on layer j's residual: CE against the labels, KL from layer j's own translator. */
    private static LayerTransfer transfer(LensInputs inputs, Lens lens, NDArray labels, int shift) {
        int layers = lens.numLayers();
        LayerTransfer out = LayerTransfer.zeros(layers);
        for (int j = 0; j < layers; j++) {
            try (NDScope scope = new NDScope()) {
                NDArray hidden = inputs.hidden(j);
                NDArray own = lens.forward(hidden, j).logSoftmax(-1);
                for (int i = 0; i < layers; i++) {
                    NDArray transferred = lens.forward(hidden, i);
                    out.ce()[i][j] = LensStats.crossEntropy(LensStats.shiftPredictions(transferred, shift), labels)
                            .mean().getFloat();
                    out.kl()[i][j] = LensStats.klFromLogProbs(own, transferred).mean().getFloat();
                }
            }
        }
        return out;
    }
}
