package dev.loupe.train.toy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.adapters.NativeModelWriter;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StopSignal;
import dev.loupe.train.AdamW;
import dev.loupe.train.GradientClipping;
import dev.loupe.train.Gradients;
import dev.loupe.train.LearningRateSchedule;
import dev.loupe.train.LossCurveSvg;
import dev.loupe.train.ProgressBar;
import dev.loupe.train.TrainingCheckpoint;
import dev.loupe.train.TrainingProgress;
import dev.loupe.train.TrainingRandom;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

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
        if (resume && checkpoints == null) {
            throw new LoupeException("Resuming needs the checkpoint folder of the run to continue");
        }
        TransformerConfig cfg = ToyModels.config(options);
        RepeatedTokens data = new RepeatedTokens(options.dVocab(), options.nCtx(), options.minRepeat(),
                options.maxRepeat());
        LearningRateSchedule schedule = LearningRateSchedule.warmupCosine(options.learningRate(),
                options.warmupSteps(), options.steps(), options.minLearningRate());
        long started = System.nanoTime();
        try (NDManager manager = NDManager.newBaseManager()) {
            TrainingRandom random = TrainingRandom.seeded(options.seed());
            Map<String, NDArray> params = ToyModels.initialParameters(cfg, random, manager);
            List<NDArray> leaves = List.copyOf(params.values());
            try (AdamW adam = AdamW.builder().weightDecay(options.weightDecay()).build(leaves)) {
                List<ToyTrainingResult.Point> curve = new ArrayList<>();
                long first = 0;
                long saved = -1; // the step of the checkpoint in the folder, once there is one
                if (resume && TrainingCheckpoint.exists(checkpoints)) {
                    TrainingCheckpoint checkpoint = TrainingCheckpoint.read(checkpoints);
                    requireSameOptions(checkpoint, options);
                    checkpoint.restore(params, adam);
                    random = TrainingRandom.fromState(checkpoint.randomState());
                    first = checkpoint.step();
                    saved = first;
                    curve.addAll(savedCurve(checkpoint.info()));
                }
                if (tracker != null) {
                    tracker.start(first, cfg);
                    if (first == 0) {
                        tracker.record(0, Double.NaN, cfg, params, manager);
                    }
                }
                StopSignal stop = StopSignal.current();
                for (long step = first; step < options.steps(); step++) {
                    // The safe point: between steps, where the parameters, the optimizer and the random
                    // stream are those after `step` steps; they are kept in a checkpoint if there is a folder.
                    if (stop.requested()) {
                        if (checkpoints != null && step > first && saved != step) {
                            saveCheckpoint(checkpoints, step, random, params, adam, options, curve);
                            saved = step;
                        }
                        throw stop.stopped(stoppedAt(step, options.steps(), checkpoints, saved));
                    }
                    long[] ids = data.batch(random, options.batchSize());
                    float loss = lossAndGradients(cfg, params, leaves, ids, options.batchSize(), manager);
                    float norm = GradientClipping.clipGradNorm(leaves, options.maxGradNorm());
                    double lr = schedule.at(step);
                    adam.step(lr);
                    curve.add(new ToyTrainingResult.Point(step + 1, loss, lr, norm));
                    if (progress != null) {
                        progress.update(step + 1, loss, lr);
                    }
                    if (tracker != null && tracker.due(step + 1, options.steps())) {
                        tracker.record(step + 1, loss, cfg, params, manager);
                    }
                    boolean last = step + 1 == options.steps();
                    if (checkpoints != null && ((step + 1) % options.checkpointEvery() == 0 || last)) {
                        saveCheckpoint(checkpoints, step + 1, random, params, adam, options, curve);
                        saved = step + 1;
                    }
                }
                HookedTransformer model = new HookedTransformer(cfg, params, manager.newSubManager());
                double evaluation = evaluationLoss(model, data, options);
                int n = Math.min(31, (options.nCtx() - 2) / 2);
                TrainingRandom held = TrainingRandom.seeded(options.seed() + EVALUATION_SEED_OFFSET + 1);
                long[] sequences = new long[0];
                for (int b = 0; b < EVALUATION_BATCH; b++) {
                    sequences = concat(sequences, RepeatedTokens.repeatedTwice(held, n, options.dVocab()));
                }
                RepeatHalves halves = RepeatHalves.measure(model, sequences, EVALUATION_BATCH, List.of());
                ToyTrainingResult result = new ToyTrainingResult(List.copyOf(curve), evaluation, halves, first,
                        (System.nanoTime() - started) / 1e9);
                // The last safe point: trained and measured, nothing of OUT written yet.
                if (stop.requested()) {
                    throw stop.stopped(stoppedAt(options.steps(), options.steps(), checkpoints, saved) + ", before writing "
                            + out);
                }
                write(out, cfg, params, options, result);
                return result;
            }
        }
    }

    private static void saveCheckpoint(Path dir, long step, TrainingRandom random, Map<String, NDArray> params,
            AdamW adam, ToyTrainingOptions options, List<ToyTrainingResult.Point> curve) {
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("options", options.toMap());
        extra.put("curve", curve.stream().map(p -> List.of(p.step(), p.loss(), p.learningRate(), p.gradNorm())).toList());
        TrainingCheckpoint.save(dir, step, random, params, adam, extra);
    }

    /** How far a stopped run got: {@code "after step 12 of 250; the last checkpoint is DIR (step 12)"}. */
    static String stoppedAt(long done, long total, Path checkpoints, long saved) {
        String where = done == 0 ? "before step 1 of " + total : "after step " + done + " of " + total;
        if (checkpoints == null) {
            return where + "; no checkpoint folder was given, so the run cannot be resumed";
        }
        return where + (saved < 0 ? "; no checkpoint was written" : "; the last checkpoint is "
                + checkpoints.toAbsolutePath().normalize() + " (step " + saved + ")");
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

    private static void requireSameOptions(TrainingCheckpoint checkpoint, ToyTrainingOptions options) {
        JsonNode saved = checkpoint.info().get("options");
        JsonNode now = JSON.valueToTree(options.toMap());
        if (saved == null || !saved.toString().equals(now.toString())) {
            throw new LoupeException("The checkpoint in " + checkpoint.dir() + " was written by a run with other options ("
                    + saved + "); resume with the same options, or use another checkpoint folder");
        }
    }

    private static List<ToyTrainingResult.Point> savedCurve(JsonNode info) {
        List<ToyTrainingResult.Point> curve = new ArrayList<>();
        for (JsonNode p : info.path("curve")) {
            curve.add(new ToyTrainingResult.Point(p.get(0).asLong(), p.get(1).asDouble(), p.get(2).asDouble(),
                    p.get(3).asDouble()));
        }
        return curve;
    }

    private static void write(Path out, TransformerConfig cfg, Map<String, NDArray> params, ToyTrainingOptions options,
            ToyTrainingResult result) {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("trained_by", "Loupe ToyTrainer (dev.loupe.train.toy)");
        metadata.put("seed", Long.toString(options.seed()));
        metadata.put("steps", Integer.toString(options.steps()));
        NativeModelWriter.write(out, cfg, params, metadata);
        StringBuilder csv = new StringBuilder("step,loss,learning_rate,grad_norm\n");
        for (ToyTrainingResult.Point p : result.curve()) {
            csv.append(String.format(Locale.ROOT, "%d,%.6f,%.6e,%.6f%n", p.step(), p.loss(), p.learningRate(),
                    p.gradNorm()));
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("options", options.toMap());
        summary.put("final_training_loss", result.finalLoss());
        summary.put("evaluation_loss", result.evaluationLoss());
        summary.put("first_half_loss", result.halves().firstHalf());
        summary.put("repeated_half_loss", result.halves().repeatedHalf());
        try {
            AtomicFiles.writeString(out.resolve("loss.csv"), csv.toString());
            AtomicFiles.writeString(out.resolve("loss.svg"), curveSvg(options, result.curve()));
            AtomicFiles.writeString(out.resolve("training.json"), JSON.writeValueAsString(summary) + "\n");
        } catch (IOException e) {
            throw new LoupeException("Cannot write the training record into " + out + ": " + e.getMessage(), e);
        }
    }

    /** The curve averaged over windows, so that the figure has at most ~500 points. */
    private static String curveSvg(ToyTrainingOptions options, List<ToyTrainingResult.Point> curve) {
        int window = Math.max(1, curve.size() / 500);
        int points = (curve.size() + window - 1) / window;
        long[] steps = new long[points];
        double[] losses = new double[points];
        for (int i = 0; i < points; i++) {
            int from = i * window;
            int to = Math.min(curve.size(), from + window);
            double sum = 0;
            for (int j = from; j < to; j++) {
                sum += curve.get(j).loss();
            }
            steps[i] = curve.get(to - 1).step();
            losses[i] = sum / (to - from);
        }
        String title = String.format(Locale.ROOT, "%s: training loss (mean of %d step%s per point), seed %d",
                options.modelName(), window, window == 1 ? "" : "s", options.seed());
        return LossCurveSvg.render(title, steps, losses);
    }

    private static long[] concat(long[] a, long[] b) {
        long[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
