package dev.loupe.train.ioi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.model.HookedTransformer;
import dev.loupe.stop.StopSignal;
import dev.loupe.train.Gradients;
import dev.loupe.train.TrainingProgress;
import dev.loupe.train.TrainingRandom;
import dev.loupe.train.toy.TrainingLoop;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Trains a small transformer with MLPs from scratch on the {@link IoiTask} with the loop the toy models
 * use ({@link TrainingLoop}: AdamW, warm-up + cosine schedule, clipping, exact checkpoints). Each step is
 * a batch of training prompts, right-padded to {@link IoiTask#N_CTX}; the loss is the cross-entropy of
 * the indirect object at each prompt's last position, so the model learns only the task.
 *
 * <pre>{@code
 * IoiTrainingResult result = IoiTrainer.train(IoiTrainingOptions.builder().build(), Path.of("models/ioi-3l"),
 *         null, false, ProgressBar.onStandardError(0, 4000));
 * }</pre>
 */
public final class IoiTrainer {
    /** Prompts per split in the final evaluation (and in the shipped model's test). */
    public static final int EVALUATION_PROMPTS = 400;
    /** Evaluation prompts are drawn from the seed plus this (plus the split's ordinal), apart from training. */
    private static final long EVALUATION_SEED_OFFSET = 0x10E7L;

    private IoiTrainer() {}

    /** The {@value #EVALUATION_PROMPTS} prompts the final evaluation scores {@code split} on, for {@code task}. */
    public static List<IoiPrompt> evaluationPrompts(IoiTask task, IoiSplit split) {
        return evaluationPrompts(task, split, EVALUATION_PROMPTS);
    }

    /** The first {@code count} prompts of the final evaluation of {@code split} (they do not depend on the count). */
    public static List<IoiPrompt> evaluationPrompts(IoiTask task, IoiSplit split, int count) {
        return task.prompts(split, count, task.seed() + EVALUATION_SEED_OFFSET + split.ordinal());
    }

    /**
     * Trains and writes the model into {@code out} as a native folder ({@code config.json},
     * {@code model.safetensors}) with its {@code tokenizer.json}, {@code loss.csv}, {@code loss.svg} and
     * {@code training.json}.
     *
     * @param checkpoints a folder for checkpoints every {@code checkpointEvery} steps, or null for none
     * @param resume continue from the checkpoint in {@code checkpoints} if there is one
     * @param progress told after every step, or null
     * @throws dev.loupe.stop.StoppedException when the thread's {@link StopSignal} is requested (at a step
     *     boundary, never after writing into {@code out} has begun)
     */
    public static IoiTrainingResult train(IoiTrainingOptions options, Path out, Path checkpoints, boolean resume,
            TrainingProgress progress) {
        return train(options, out, checkpoints, resume, progress, EVALUATION_PROMPTS);
    }

    /**
     * As {@link #train(IoiTrainingOptions, Path, Path, boolean, TrainingProgress)}, scoring the trained model on
     * {@code evaluationPrompts} prompts per split (fewer make a quick run quicker).
     */
    public static IoiTrainingResult train(IoiTrainingOptions options, Path out, Path checkpoints, boolean resume,
            TrainingProgress progress, int evaluationPrompts) {
        if (evaluationPrompts < 1) {
            throw new LoupeException("The evaluation needs at least one prompt per split, got " + evaluationPrompts);
        }
        TransformerConfig cfg = options.config();
        IoiTask task = IoiTask.of(options.seed());
        long started = System.nanoTime();
        try (NDManager manager = NDManager.newBaseManager()) {
            TrainingRandom random = TrainingRandom.seeded(options.seed());
            Map<String, NDArray> params = options.initialParameters(random, manager);
            List<NDArray> leaves = List.copyOf(params.values());
            TrainingLoop.Settings settings = new TrainingLoop.Settings(options.steps(), options.learningRate(),
                    options.warmupSteps(), options.minLearningRate(), options.weightDecay(), options.maxGradNorm(),
                    options.checkpointEvery(), options.toMap());
            TrainingLoop.Outcome outcome = TrainingLoop.run(settings, params, random, checkpoints, resume, progress,
                    r -> lossAndGradients(cfg, params, leaves, batch(task, r, options.batchSize()), manager),
                    new TrainingLoop.Listener() {});
            HookedTransformer model = new HookedTransformer(cfg, params, manager.newSubManager());
            Map<IoiSplit, IoiScore> scores = new EnumMap<>(IoiSplit.class);
            for (IoiSplit split : IoiSplit.values()) {
                scores.put(split, IoiScore.of(model, evaluationPrompts(task, split, evaluationPrompts)));
            }
            IoiTrainingResult result = new IoiTrainingResult(outcome.curve(), scores, outcome.firstStep(),
                    (System.nanoTime() - started) / 1e9);
            StopSignal stop = StopSignal.current();
            if (stop.requested()) {
                throw stop.stopped(TrainingLoop.stoppedAt(options.steps(), options.steps(), checkpoints, outcome.saved())
                        + ", before writing " + out);
            }
            write(out, cfg, params, options, task, result);
            return result;
        }
    }

    /** A training batch drawn from {@code random}. */
    static IoiBatch batch(IoiTask task, TrainingRandom random, int size) {
        List<IoiPrompt> prompts = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            prompts.add(task.trainingPrompt(random));
        }
        return IoiBatch.of(prompts, IoiTask.N_CTX);
    }

    /** The answer's mean cross-entropy; leaves each parameter's gradient of it in place. */
    private static float lossAndGradients(TransformerConfig cfg, Map<String, NDArray> params, List<NDArray> leaves,
            IoiBatch batch, NDManager manager) {
        try (NDManager step = manager.newSubManager()) {
            return Gradients.compute(leaves, () -> {
                HookedTransformer model = new HookedTransformer(cfg, params, step);
                NDArray logits = model.forward(batch.tokens(step));
                NDArray logProbs = logits.logSoftmax(-1);
                return logProbs.mul(batch.answerMask(step, cfg.dVocabOut())).sum().neg().div(batch.size());
            });
        }
    }

    private static void write(Path out, TransformerConfig cfg, Map<String, NDArray> params, IoiTrainingOptions options,
            IoiTask task, IoiTrainingResult result) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("options", options.toMap());
        summary.put("final_training_loss", result.finalLoss());
        summary.put("seconds", result.seconds());
        Map<String, Object> scores = new LinkedHashMap<>();
        result.scores().forEach((split, score) -> scores.put(split.name().toLowerCase(Locale.ROOT),
                Map.of("logit_diff", score.logitDiff(), "accuracy", score.accuracy(), "prompts", score.prompts())));
        summary.put("evaluation", scores);
        summary.put("held_out_templates", task.heldOutTemplates().stream().map(IoiTemplate::name).toList());
        summary.put("held_out_pairs", List.copyOf(task.heldOutPairs()));
        TrainingLoop.writeModel(out, cfg, params, "Loupe IoiTrainer (dev.loupe.train.ioi)", options.modelName(),
                options.seed(), options.steps(), result.curve(), summary,
                Map.of("tokenizer.json", IoiVocabulary.tokenizerJson()));
    }
}
