package dev.loupe.train.toy;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.AtomicFiles;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.adapters.NativeModelWriter;
import dev.loupe.stop.StopSignal;
import dev.loupe.train.AdamW;
import dev.loupe.train.GradientClipping;
import dev.loupe.train.LearningRateSchedule;
import dev.loupe.train.LossCurveSvg;
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
 * The optimisation loop Loupe's from-scratch models share ({@link ToyTrainer}, and the IOI trainer):
 * AdamW, warm-up + cosine schedule, global gradient-norm clipping, checkpoints every N steps that resume
 * exactly, and the stop signal honoured between steps. What a step computes is the caller's: a
 * {@link Step} draws its batch from the run's random stream and leaves gradients on the leaf parameters.
 */
public final class TrainingLoop {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper INDENTED = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private TrainingLoop() {}

    /** One step: the loss of a batch drawn from {@code random}, leaving each leaf's gradient of it in place. */
    @FunctionalInterface
    public interface Step {
        float lossAndGradients(TrainingRandom random);
    }

    /** Told when the loop starts and after each step (before that step's checkpoint). */
    public interface Listener {
        /** The loop starts at {@code first} (0, or a resumed checkpoint's step). */
        default void started(long first) {}

        /** Step {@code step} (1-based) is done with training loss {@code loss}. */
        default void stepped(long step, float loss) {}
    }

    /**
     * How to optimise.
     *
     * @param warmupSteps steps of linear warm-up from 0
     * @param identity the run's options by name: a checkpoint written by a run with other options is refused
     */
    public record Settings(int steps, double learningRate, int warmupSteps, double minLearningRate,
            double weightDecay, double maxGradNorm, int checkpointEvery, Map<String, Object> identity) {}

    /**
     * What the loop did.
     *
     * @param curve one point per step of the whole run (also the steps before a resume)
     * @param firstStep the step this process started at
     * @param saved the step of the last checkpoint in the folder, or -1
     */
    public record Outcome(List<ToyTrainingResult.Point> curve, long firstStep, long saved) {}

    /**
     * Runs {@code settings.steps()} steps over {@code params} (leaves that require gradients), whose
     * initial values were drawn from {@code random}; {@code random} then feeds the batches.
     *
     * @throws dev.loupe.stop.StoppedException when the thread's {@link StopSignal} is requested, at the next
     *     step boundary, after saving a checkpoint there (with a checkpoint folder)
     */
    public static Outcome run(Settings settings, Map<String, NDArray> params, TrainingRandom random, Path checkpoints,
            boolean resume, TrainingProgress progress, Step step, Listener listener) {
        if (resume && checkpoints == null) {
            throw new LoupeException("Resuming needs the checkpoint folder of the run to continue");
        }
        LearningRateSchedule schedule = LearningRateSchedule.warmupCosine(settings.learningRate(),
                settings.warmupSteps(), settings.steps(), settings.minLearningRate());
        List<NDArray> leaves = List.copyOf(params.values());
        try (AdamW adam = AdamW.builder().weightDecay(settings.weightDecay()).build(leaves)) {
            List<ToyTrainingResult.Point> curve = new ArrayList<>();
            long first = 0;
            long saved = -1; // the step of the checkpoint in the folder, once there is one
            if (resume && TrainingCheckpoint.exists(checkpoints)) {
                TrainingCheckpoint checkpoint = TrainingCheckpoint.read(checkpoints);
                requireSameOptions(checkpoint, settings.identity());
                checkpoint.restore(params, adam);
                random = TrainingRandom.fromState(checkpoint.randomState());
                first = checkpoint.step();
                saved = first;
                curve.addAll(savedCurve(checkpoint.info()));
            }
            listener.started(first);
            StopSignal stop = StopSignal.current();
            for (long s = first; s < settings.steps(); s++) {
                // The safe point: between steps, where the parameters, the optimizer and the random
                // stream are those after `s` steps; they are kept in a checkpoint if there is a folder.
                if (stop.requested()) {
                    if (checkpoints != null && s > first && saved != s) {
                        saveCheckpoint(checkpoints, s, random, params, adam, settings, curve);
                        saved = s;
                    }
                    throw stop.stopped(stoppedAt(s, settings.steps(), checkpoints, saved));
                }
                float loss = step.lossAndGradients(random);
                float norm = GradientClipping.clipGradNorm(leaves, settings.maxGradNorm());
                double lr = schedule.at(s);
                adam.step(lr);
                curve.add(new ToyTrainingResult.Point(s + 1, loss, lr, norm));
                if (progress != null) {
                    progress.update(s + 1, loss, lr);
                }
                listener.stepped(s + 1, loss);
                boolean last = s + 1 == settings.steps();
                if (checkpoints != null && ((s + 1) % settings.checkpointEvery() == 0 || last)) {
                    saveCheckpoint(checkpoints, s + 1, random, params, adam, settings, curve);
                    saved = s + 1;
                }
            }
            return new Outcome(List.copyOf(curve), first, saved);
        }
    }

    /** How far a stopped run got: {@code "after step 12 of 250; the last checkpoint is DIR (step 12)"}. */
    public static String stoppedAt(long done, long total, Path checkpoints, long saved) {
        String where = done == 0 ? "before step 1 of " + total : "after step " + done + " of " + total;
        if (checkpoints == null) {
            return where + "; no checkpoint folder was given, so the run cannot be resumed";
        }
        return where + (saved < 0 ? "; no checkpoint was written" : "; the last checkpoint is "
                + checkpoints.toAbsolutePath().normalize() + " (step " + saved + ")");
    }

    /**
     * Writes a trained model's folder: the weights (recording who trained it, the seed and the steps), {@code loss.csv},
     * {@code loss.svg}, {@code training.json} ({@code summary}) and the caller's {@code extraFiles} (name to text).
     */
    public static void writeModel(Path out, TransformerConfig cfg, Map<String, NDArray> params, String trainedBy,
            String modelName, long seed, int steps, List<ToyTrainingResult.Point> curve, Map<String, Object> summary,
            Map<String, String> extraFiles) {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("trained_by", trainedBy);
        metadata.put("seed", Long.toString(seed));
        metadata.put("steps", Integer.toString(steps));
        NativeModelWriter.write(out, cfg, params, metadata);
        try {
            for (Map.Entry<String, String> file : extraFiles.entrySet()) {
                AtomicFiles.writeString(out.resolve(file.getKey()), file.getValue());
            }
            AtomicFiles.writeString(out.resolve("loss.csv"), lossCsv(curve));
            AtomicFiles.writeString(out.resolve("loss.svg"), lossSvg(modelName, seed, curve));
            AtomicFiles.writeString(out.resolve("training.json"), INDENTED.writeValueAsString(summary) + "\n");
        } catch (IOException e) {
            throw new LoupeException("Cannot write the training record into " + out + ": " + e.getMessage(), e);
        }
    }

    /** {@code loss.csv}: one line per step with its loss, learning rate and gradient norm before clipping. */
    public static String lossCsv(List<ToyTrainingResult.Point> curve) {
        StringBuilder csv = new StringBuilder("step,loss,learning_rate,grad_norm\n");
        for (ToyTrainingResult.Point p : curve) {
            csv.append(String.format(Locale.ROOT, "%d,%.6f,%.6e,%.6f%n", p.step(), p.loss(), p.learningRate(),
                    p.gradNorm()));
        }
        return csv.toString();
    }

    /** {@code loss.svg}: the curve averaged over windows, so that the figure has at most ~500 points. */
    public static String lossSvg(String modelName, long seed, List<ToyTrainingResult.Point> curve) {
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
                modelName, window, window == 1 ? "" : "s", seed);
        return LossCurveSvg.render(title, steps, losses);
    }

    private static void saveCheckpoint(Path dir, long step, TrainingRandom random, Map<String, NDArray> params,
            AdamW adam, Settings settings, List<ToyTrainingResult.Point> curve) {
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("options", settings.identity());
        extra.put("curve", curve.stream().map(p -> List.of(p.step(), p.loss(), p.learningRate(), p.gradNorm())).toList());
        TrainingCheckpoint.save(dir, step, random, params, adam, extra);
    }

    private static void requireSameOptions(TrainingCheckpoint checkpoint, Map<String, Object> identity) {
        JsonNode saved = checkpoint.info().get("options");
        JsonNode now = JSON.valueToTree(identity);
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
}
