package dev.loupe.train.toy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.config.TransformerConfig;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StopSignal;
import dev.loupe.train.Gradients;
import dev.loupe.train.ProgressBar;
import dev.loupe.train.TrainingProgress;
import dev.loupe.train.TrainingRandom;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains a toy attention-only {@link HookedTransformer} from scratch on {@link RepeatedTokens} with
 * Loupe's own pieces: AdamW, warm-up + cosine schedule, gradient clipping, seeded data and weights,
 * a progress bar, and checkpoints that resume exactly. There is no separate model code: each step
 * builds a HookedTransformer from the leaf parameters while gradients are recorded, so the tensors
 * its components derive at construction (fused QKV, padded W_U) are part of the recorded graph and
 * gradients reach the parameters.
 *
 * <p>A run is a function of its options: the same options give the same weights, bit for bit, in one
 * process. Across processes libtorch's CPU kernels may round differently; with one PyTorch thread and
 * MKL's conditional numerical reproducibility on ({@code MKL_CBWR}, which the {@code loupe} script pins to
 * the CPU's widest deterministic code branch) two runs of the shipped model's options matched for the first
 * 2287 steps and ended 1e-4 apart in loss.
 *
 * <pre>{@code
 * ToyTrainingResult result = ToyTrainer.train(ToyTrainingOptions.builder().nLayers(2).build(),
 *         Path.of("models/induction-2l"), null, false, ProgressBar.onStandardError(0, 6000));
 * }</pre>
 */
public final class ToyTrainer {
    /** Held-out sequences are drawn from this stream, apart from the training batches. */
    private static final long EVALUATION_SEED_OFFSET = 0x5EEDL;
    private static final int EVALUATION_BATCH = 64;

    private ToyTrainer() {}

    /**
     * Trains and writes the model into {@code out} as a native folder ({@code config.json},
     * {@code model.safetensors}), with {@code loss.csv}, {@code loss.svg} and {@code training.json}.
     *
     * @param checkpoints a folder for checkpoints every {@code checkpointEvery} steps, or null for none
     * @param resume continue from the checkpoint in {@code checkpoints} if there is one
     * @param progress told after every step (a {@link ProgressBar}, say), or null
     * @throws dev.loupe.stop.StoppedException when the thread's {@link StopSignal} is requested: at the
     *     next step boundary, after saving a checkpoint there (with a checkpoint folder), and never
     *     after writing into {@code out} has begun; its message names the step and the checkpoint
     */
    public static ToyTrainingResult train(ToyTrainingOptions options, Path out, Path checkpoints, boolean resume,
            TrainingProgress progress) {
        return train(options, out, checkpoints, resume, progress, null);
    }

    /**
     * As {@link #train(ToyTrainingOptions, Path, Path, boolean, TrainingProgress)}, with {@code tracker} recording
     * the phase change as the run goes (or null for no tracking).
     */
    public static ToyTrainingResult train(ToyTrainingOptions options, Path out, Path checkpoints, boolean resume,
            TrainingProgress progress, PhaseTracker tracker) {
        TransformerConfig cfg = ToyModels.config(options);
        RepeatedTokens data = new RepeatedTokens(options.dVocab(), options.nCtx(), options.minRepeat(),
                options.maxRepeat());
        long started = System.nanoTime();
        try (NDManager manager = NDManager.newBaseManager()) {
            TrainingRandom random = TrainingRandom.seeded(options.seed());
            Map<String, NDArray> params = ToyModels.initialParameters(cfg, random, manager);
            List<NDArray> leaves = List.copyOf(params.values());
            TrainingLoop.Listener listener = tracker == null ? new TrainingLoop.Listener() {} : new TrainingLoop.Listener() {
                @Override
                public void started(long first) {
                    tracker.start(first, cfg);
                    if (first == 0) {
                        tracker.record(0, Double.NaN, cfg, params, manager);
                    }
                }

                @Override
                public void stepped(long step, float loss) {
                    if (tracker.due(step, options.steps())) {
                        tracker.record(step, loss, cfg, params, manager);
                    }
                }
            };
            TrainingLoop.Outcome outcome = TrainingLoop.run(settings(options), params, random, checkpoints, resume,
                    progress, r -> lossAndGradients(cfg, params, leaves, data.batch(r, options.batchSize()),
                            options.batchSize(), manager), listener);
            HookedTransformer model = new HookedTransformer(cfg, params, manager.newSubManager());
            double evaluation = evaluationLoss(model, data, options);
            int n = Math.min(31, (options.nCtx() - 2) / 2);
            TrainingRandom held = TrainingRandom.seeded(options.seed() + EVALUATION_SEED_OFFSET + 1);
            long[] sequences = new long[0];
            for (int b = 0; b < EVALUATION_BATCH; b++) {
                sequences = concat(sequences, RepeatedTokens.repeatedTwice(held, n, options.dVocab()));
            }
            RepeatHalves halves = RepeatHalves.measure(model, sequences, EVALUATION_BATCH, List.of());
            ToyTrainingResult result = new ToyTrainingResult(outcome.curve(), evaluation, halves, outcome.firstStep(),
                    (System.nanoTime() - started) / 1e9);
            // The last safe point: trained and measured, nothing of OUT written yet.
            StopSignal stop = StopSignal.current();
            if (stop.requested()) {
                throw stop.stopped(stoppedAt(options.steps(), options.steps(), checkpoints, outcome.saved())
                        + ", before writing " + out);
            }
            write(out, cfg, params, options, result);
            return result;
        }
    }

    private static TrainingLoop.Settings settings(ToyTrainingOptions options) {
        return new TrainingLoop.Settings(options.steps(), options.learningRate(), options.warmupSteps(),
                options.minLearningRate(), options.weightDecay(), options.maxGradNorm(), options.checkpointEvery(),
                options.toMap());
    }


    /** How far a stopped run got: {@code "after step 12 of 250; the last checkpoint is DIR (step 12)"}. */
    static String stoppedAt(long done, long total, Path checkpoints, long saved) {
        return TrainingLoop.stoppedAt(done, total, checkpoints, saved);
    }

    /** One step's loss; leaves each parameter's gradient of it in place. */
    private static float lossAndGradients(TransformerConfig cfg, Map<String, NDArray> params, List<NDArray> leaves,
            long[] ids, int batch, NDManager manager) {
        try (NDManager step = manager.newSubManager()) {
            return Gradients.compute(leaves, () -> {
                HookedTransformer model = new HookedTransformer(cfg, params, step);
                NDArray tokens = step.create(ids, new Shape(batch, ids.length / batch));
                return model.loss(tokens);
            });
        }
    }

    private static double evaluationLoss(HookedTransformer model, RepeatedTokens data, ToyTrainingOptions options) {
        TrainingRandom held = TrainingRandom.seeded(options.seed() + EVALUATION_SEED_OFFSET);
        long[] ids = data.batch(held, EVALUATION_BATCH);
        try (NDManager manager = NDManager.newBaseManager()) {
            return model.loss(manager.create(ids, new Shape(EVALUATION_BATCH, options.nCtx()))).getFloat();
        }
    }



    private static void write(Path out, TransformerConfig cfg, Map<String, NDArray> params, ToyTrainingOptions options,
            ToyTrainingResult result) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("options", options.toMap());
        summary.put("final_training_loss", result.finalLoss());
        summary.put("evaluation_loss", result.evaluationLoss());
        summary.put("first_half_loss", result.halves().firstHalf());
        summary.put("repeated_half_loss", result.halves().repeatedHalf());
        TrainingLoop.writeModel(out, cfg, params, "Loupe ToyTrainer (dev.loupe.train.toy)", options.modelName(),
                options.seed(), options.steps(), result.curve(), summary, Map.of());
    }


    private static long[] concat(long[] a, long[] b) {
        long[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
