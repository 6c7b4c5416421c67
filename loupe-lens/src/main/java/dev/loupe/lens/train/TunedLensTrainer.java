package dev.loupe.lens.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.lens.LensInputs;
import dev.loupe.lens.LensStats;
import dev.loupe.lens.TunedLens;
import dev.loupe.model.HookedTransformer;
import dev.loupe.numeric.Scalars;
import dev.loupe.stop.StopSignal;
import dev.loupe.tokenize.TokenChunks;
import dev.loupe.train.AdamW;
import dev.loupe.train.GradientClipping;
import dev.loupe.train.Gradients;
import dev.loupe.train.LearningRateSchedule;
import dev.loupe.train.Optimizer;
import dev.loupe.train.Sgd;
import dev.loupe.train.TrainingCheckpoint;
import dev.loupe.train.TrainingProgress;
import dev.loupe.train.TrainingRandom;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Trains a tuned lens as the tuned-lens library's {@code train} does. Each step runs the frozen model
 * on {@code tokensPerStep} tokens (in forward passes of {@code perGpuBatchSize} sequences) and, for
 * each layer in turn, backpropagates that layer's loss into its own translator only, inside its own
 * scope, so memory holds one layer's graph at a time; then the gradients' global norm is clipped and
 * the optimizer steps on the schedule's learning rate.
 *
 * <pre>{@code
 * TokenChunks data = TokenChunks.of(TextDocuments.read(files, "text"), model.tokenizer(), 128);
 * try (TunedLens lens = TunedLens.create(model)) {
 *     TunedLensTrainer.train(model, lens, data, LensTrainingOptions.builder().tokensPerStep(1024)
 *             .maxSeqLen(128).build(), ProgressBar.onStandardError(0, 250));
 *     lens.save(output);
 * }
 * }</pre>
 */
public final class TunedLensTrainer {
    private TunedLensTrainer() {}

    /**
     * Trains {@code lens} (in place) for {@code model} on {@code data}, resuming from the checkpoint
     * folder's checkpoint when there is one.
     *
     * @param data sequences of {@code min(maxSeqLen, n_ctx)} tokens
     * @param progress told after every step (a progress bar), or null
     * @throws dev.loupe.stop.StoppedException when the thread's {@link StopSignal} is requested: before
     *     the next forward pass, after saving a checkpoint of the last completed step (with a checkpoint
     *     folder); its message names the step and the checkpoint. The lens keeps that step's weights.
     */
    public static LensTrainingResult train(HookedTransformer model, TunedLens lens, TokenChunks data,
            LensTrainingOptions options, TrainingProgress progress) {
        return train(model, lens, data, options, progress, null);
    }

    /**
     * As {@link #train(HookedTransformer, TunedLens, TokenChunks, LensTrainingOptions, TrainingProgress)}, with each
     * step's gradient sums computed by {@code gradients} (other machines, say) instead of this JVM's forward passes;
     * everything else (order of the data, clipping, the optimizer, checkpoints) is the same. Null: this JVM's.
     * A stop is then honoured between steps only.
     */
    public static LensTrainingResult train(HookedTransformer model, TunedLens lens, TokenChunks data,
            LensTrainingOptions options, TrainingProgress progress, StepGradients gradients) {
        int sequenceLength = sequenceLength(model, options);
        int sequencesPerStep = sequencesPerStep(options, sequenceLength);
        checkData(data, options, sequenceLength, sequencesPerStep);
        if (lens.hook() != options.hook()) {
            throw new LoupeException("The lens reads " + lens.hook().key() + " but the options say "
                    + options.hook().key() + "; create the lens for the hook you train");
        }
        List<NDArray> trained = trainedParameters(lens, options);
        trained.forEach(p -> p.setRequiresGradient(true));
        TokenChunks order = data.shuffled(options.seed());
        LearningRateSchedule schedule = LearningRateSchedule.warmupLinear(options.learningRate(),
                options.warmupSteps(), options.numSteps() - options.warmupSteps());
        TrainingRandom random = TrainingRandom.seeded(options.seed());
        List<double[]> losses = new ArrayList<>();
        long started = System.nanoTime();
        try (Optimizer optimizer = optimizer(options, trained);
             GradientSums sums = new GradientSums(trained)) {
            long first = resume(options, lens, trained, optimizer);
            Path checkpoints = options.checkpointDir();
            long saved = checkpoints != null && TrainingCheckpoint.exists(checkpoints) ? first : -1;
            StopSignal stop = StopSignal.current();
            for (long step = first; step < options.numSteps(); step++) {
                double[] layerLosses = new double[lens.numLayers()];
                int passes = (sequencesPerStep + options.perGpuBatchSize() - 1) / options.perGpuBatchSize();
                sums.zero();
                for (int pass = 0; pass < (gradients == null ? passes : 1); pass++) {
                    // The safe points: before each forward pass. The lens and the optimizer are still
                    // those after `step` steps (a step changes them only at its end), so a stop keeps
                    // them in a checkpoint when there is a checkpoint folder.
                    if (stop.requested()) {
                        if (checkpoints != null && step > first && saved != step) {
                            TrainingCheckpoint.save(checkpoints, step, random, named(lens, trained),
                                    optimizer, Map.of("lens_training", options.asJson()));
                            saved = step;
                        }
                        throw stop.stopped(stoppedAt(step, options, saved));
                    }
                    if (gradients != null) {
                        layerLosses = gradients.compute(step, order, sums.sums);
                        // A gradient has storage only once a backward pass ran in this JVM: make it (zeros), so
                        // that the sums can be written into it.
                        Gradients.compute(trained, () -> trained.stream().map(p -> p.sum().mul(0)).reduce(NDArray::add)
                                .orElseThrow());
                        continue;
                    }
                    int from = pass * options.perGpuBatchSize();
                    int count = Math.min(options.perGpuBatchSize(), sequencesPerStep - from);
                    long[] tokens = order.batch(step * sequencesPerStep + from, count);
                    accumulate(model, lens, options, tokens, count, passes, layerLosses, sums);
                }
                sums.writeIntoGradients();
                GradientClipping.clipGradNorm(trained, options.gradClip());
                double lr = schedule.at(step);
                optimizer.step(lr);
                losses.add(layerLosses);
                if (options.checkpointFreq() > 0 && (step + 1) % options.checkpointFreq() == 0) {
                    TrainingCheckpoint.save(options.checkpointDir(), step + 1, random, named(lens, trained),
                            optimizer, Map.of("lens_training", options.asJson()));
                    saved = step + 1;
                }
                if (progress != null) {
                    progress.update(step + 1, mean(layerLosses), lr, perLayer(layerLosses));
                }
            }
            trained.forEach(p -> p.setRequiresGradient(false));
            long tokensSeen = (long) losses.size() * sequencesPerStep * sequenceLength;
            return new LensTrainingResult(first, losses, tokensSeen, (System.nanoTime() - started) / 1e9);
        }
    }

    /**
     * The gradient sums and per-layer losses of some of a step's forward passes, as {@link #train} adds them up:
     * what one machine of a data-parallel step computes. {@code lens}'s trained parameters get gradients.
     *
     * @param passTokens the token ids of each pass [count·length]
     * @param counts the sequences of each pass
     * @param passes the number of passes of the whole step (each pass's loss is divided by it)
     * @return the sums, one per trained parameter (in {@link #trainedParameters} order), and the per-layer losses
     */
    public static LensGradients passGradients(HookedTransformer model, TunedLens lens, LensTrainingOptions options,
            List<long[]> passTokens, List<Integer> counts, int passes) {
        List<NDArray> trained = trainedParameters(lens, options);
        trained.forEach(p -> p.setRequiresGradient(true));
        double[] layerLosses = new double[lens.numLayers()];
        try (GradientSums sums = new GradientSums(trained)) {
            for (int i = 0; i < passTokens.size(); i++) {
                accumulate(model, lens, options, passTokens.get(i), counts.get(i), passes, layerLosses, sums);
            }
            float[][] out = new float[trained.size()][];
            for (int i = 0; i < out.length; i++) {
                out[i] = sums.sums.get(i).toFloatArray();
            }
            return new LensGradients(out, layerLosses);
        } finally {
            trained.forEach(p -> p.setRequiresGradient(false));
        }
    }

    /**
     * The number of sequences of one step, after checking that the tokens per step are a whole number of sequences
     * of {@code min(maxSeqLen, n_ctx)}.
     */
    public static int sequencesPerStep(HookedTransformer model, LensTrainingOptions options) {
        return sequencesPerStep(options, sequenceLength(model, options));
    }

    /** How far a stopped run got: {@code "after step 12 of 250; the last checkpoint is DIR (step 12)"}. */
    private static String stoppedAt(long done, LensTrainingOptions options, long saved) {
        String where = done == 0 ? "before step 1 of " + options.numSteps()
                : "after step " + done + " of " + options.numSteps();
        Path dir = options.checkpointDir();
        if (dir == null) {
            return where + "; no checkpoint folder was given, so the run cannot be resumed";
        }
        return where + (saved < 0 ? "; no checkpoint was written" : "; the last checkpoint is "
                + dir.toAbsolutePath().normalize() + " (step " + saved + ")");
    }

    /** One forward pass of the frozen model, then every layer's loss backpropagated into its translator. */
    private static void accumulate(HookedTransformer model, TunedLens lens, LensTrainingOptions options, long[] tokens,
            int count, int passes, double[] layerLosses, GradientSums sums) {
        int shift = options.effectiveTokenShift();
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray ids = manager.create(tokens, new Shape(count, tokens.length / count));
            try (LensInputs inputs = LensInputs.run(model, ids, null, options.hook(), List.of())) {
                // Targets carry no gradient: the model is frozen and ran outside recording. For KL, the
                // output's probabilities and Σ p log p are computed once for every layer.
                boolean kl = options.loss() == LensLoss.KL;
                NDArray target = kl ? LensStats.shiftLabels(inputs.logits(), shift).logSoftmax(-1)
                        : LensStats.shiftLabels(ids, shift);
                NDArray probs = kl ? target.exp() : null;
                NDArray negativeEntropy = kl ? probs.mul(target).sum(new int[] {-1}) : null;
                for (int layer = 0; layer < lens.numLayers(); layer++) {
                    NDArray hidden = inputs.hidden(layer);
                    int index = layer;
                    List<NDArray> own = layerParameters(lens, layer, options.biasOnly());
                    float loss = Gradients.compute(own, () -> {
                        NDArray logits = LensStats.shiftPredictions(lens.forward(hidden, index), shift);
                        // KL(p ‖ q) = Σ p log p − Σ p log q
                        NDArray perToken = kl
                                ? logits.logSoftmax(-1).mul(probs).sum(new int[] {-1}).neg().add(negativeEntropy)
                                : LensStats.crossEntropy(logits, target);
                        return Scalars.div(perToken.mean(), passes);
                    });
                    layerLosses[layer] += loss;
                    sums.add(own);
                }
            }
        }
    }

    private static int sequenceLength(HookedTransformer model, LensTrainingOptions options) {
        return Math.min(options.maxSeqLen(), model.config().nCtx());
    }

    private static int sequencesPerStep(LensTrainingOptions options, int sequenceLength) {
        if (options.tokensPerStep() % sequenceLength != 0) {
            throw new LoupeException("Tokens per step (" + options.tokensPerStep() + ") must be a multiple of the"
                    + " sequence length (" + sequenceLength + "), as in the tuned-lens library");
        }
        return options.tokensPerStep() / sequenceLength;
    }

    /** Refuses data of the wrong length, or too little of it, before any work is done. */
    private static void checkData(TokenChunks data, LensTrainingOptions options, int sequenceLength,
            int sequencesPerStep) {
        if (data.chunkSize() != sequenceLength) {
            throw new LoupeException("The data is cut into sequences of " + data.chunkSize() + " tokens but training"
                    + " uses " + sequenceLength + " (min of max_seq_len and the model's n_ctx); chunk it to that length");
        }
        long needed = (long) options.numSteps() * sequencesPerStep;
        if (data.chunks().size() < needed && !options.repeatData()) {
            throw new LoupeException(String.format(Locale.ROOT, "The data gives %d sequences of %d tokens (%d tokens),"
                    + " but %d steps of %d tokens need %d sequences (%d tokens): give more data, fewer steps or tokens"
                    + " per step, or allow repeating the data (--repeat-data)", data.chunks().size(), sequenceLength,
                    data.tokenCount(), options.numSteps(), options.tokensPerStep(), needed,
                    needed * sequenceLength));
        }
    }

    /** The parameters {@code options} trains, layer by layer (weight, then bias). */
    public static List<NDArray> trainedParameters(TunedLens lens, LensTrainingOptions options) {
        List<NDArray> params = new ArrayList<>();
        for (int layer = 0; layer < lens.numLayers(); layer++) {
            params.addAll(layerParameters(lens, layer, options.biasOnly()));
        }
        return params;
    }

    static List<NDArray> layerParameters(TunedLens lens, int layer, boolean biasOnly) {
        if (lens.bias(layer) == null && biasOnly) {
            throw new LoupeException("A bias-only lens needs biases; create the lens with bias");
        }
        List<NDArray> params = new ArrayList<>();
        if (!biasOnly) {
            params.add(lens.weight(layer));
        }
        if (lens.bias(layer) != null) {
            params.add(lens.bias(layer));
        }
        return params;
    }

    /** The trained parameters by the library's names ({@code "0.weight"}, {@code "0.bias"}, …), for checkpoints. */
    private static Map<String, NDArray> named(TunedLens lens, List<NDArray> trained) {
        Map<String, NDArray> named = new java.util.LinkedHashMap<>();
        lens.stateDict().forEach((name, p) -> {
            if (trained.stream().anyMatch(t -> t == p)) {
                named.put(name, p);
            }
        });
        return named;
    }

    private static Optimizer optimizer(LensTrainingOptions options, List<NDArray> params) {
        if (options.optimizer() == LensOptimizer.SGD) {
            return Sgd.builder().momentum(options.momentum()).nesterov(true).weightDecay(options.weightDecay())
                    .build(params);
        }
        return AdamW.builder().betas(options.momentum(), 0.999).weightDecay(options.weightDecay())
                .coupledWeightDecay(true).amsgrad(true).build(params);
    }

    /** The step to start at: 0, or the checkpoint's after restoring it (options must match). */
    private static long resume(LensTrainingOptions options, TunedLens lens, List<NDArray> trained,
            Optimizer optimizer) {
        Path dir = options.checkpointDir();
        if (dir == null || !TrainingCheckpoint.exists(dir)) {
            if (dir != null) {
                try {
                    Files.createDirectories(dir);
                } catch (java.io.IOException e) {
                    throw new LoupeException("Cannot create the checkpoint folder " + dir + ": " + e.getMessage(), e);
                }
            }
            return 0;
        }
        TrainingCheckpoint checkpoint = TrainingCheckpoint.read(dir);
        Map<String, Object> expected = options.asJson();
        com.fasterxml.jackson.databind.JsonNode saved = checkpoint.info().path("lens_training");
        for (Map.Entry<String, Object> entry : expected.entrySet()) {
            if (!saved.path(entry.getKey()).asText().equals(String.valueOf(entry.getValue()))) {
                throw new LoupeException("The checkpoint in " + dir + " was written with " + entry.getKey() + " = "
                        + saved.path(entry.getKey()).asText() + " but this run has " + entry.getValue()
                        + "; resume with the same options or use another checkpoint folder");
            }
        }
        checkpoint.restore(named(lens, trained), optimizer);
        return checkpoint.step();
    }

    private static double mean(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    private static String perLayer(double[] losses) {
        StringBuilder text = new StringBuilder("  layers");
        for (double loss : losses) {
            text.append(String.format(Locale.ROOT, " %.3f", loss));
        }
        return text.toString();
    }

    /**
     * Gradients summed over a step's forward passes ({@link Gradients#compute} replaces a gradient,
     * the library's gradient accumulation adds them).
     */
    private static final class GradientSums implements AutoCloseable {
        private final NDManager manager = NDManager.newBaseManager();
        private final List<NDArray> parameters;
        private final List<NDArray> sums = new ArrayList<>();

        GradientSums(List<NDArray> parameters) {
            this.parameters = parameters;
            for (NDArray p : parameters) {
                sums.add(manager.zeros(p.getShape()));
            }
        }

        void zero() {
            sums.forEach(s -> s.muli(0));
        }

        void add(List<NDArray> own) {
            try (NDScope scope = new NDScope()) {
                for (NDArray p : own) {
                    sums.get(indexOf(p)).addi(p.getGradient());
                }
            }
        }

        void writeIntoGradients() {
            try (NDScope scope = new NDScope()) {
                for (int i = 0; i < parameters.size(); i++) {
                    NDArray gradient = parameters.get(i).getGradient();
                    gradient.muli(0).addi(sums.get(i));
                }
            }
        }

        private int indexOf(NDArray p) {
            for (int i = 0; i < parameters.size(); i++) {
                if (parameters.get(i) == p) {
                    return i;
                }
            }
            throw new IllegalStateException("not a trained parameter");
        }

        @Override
        public void close() {
            manager.close();
        }
    }
}
