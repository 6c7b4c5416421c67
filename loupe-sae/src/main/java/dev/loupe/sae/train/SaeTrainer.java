package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.sae.Sae;
import dev.loupe.sae.format.ActivationNormalization;
import dev.loupe.stop.StopSignal;
import dev.loupe.train.AdamW;
import dev.loupe.train.GradientClipping;
import dev.loupe.train.TrainingCheckpoint;
import dev.loupe.train.TrainingProgress;
import dev.loupe.train.TrainingRandom;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Trains a {@code standard}, {@code topk} or {@code jumprelu} SAE as SAELens 6.18's {@code SAETrainer} does:
 * each step takes a batch [train_batch_size_tokens, d_in] from the {@link MixingBuffer}, computes the loss and
 * its gradients ({@link TrainingObjective}), clips the gradient norm at 1.0, and makes an Adam step (core's
 * {@link AdamW} with no weight decay, which is torch's Adam); the learning rate and the sparsity coefficient
 * follow SAELens's schedules. Dead features are tracked over {@code dead_feature_window} and firing frequencies
 * over {@code feature_sampling_window}. With {@code expected_average_only_in} the scale is estimated first and
 * folded into the weights at the end.
 *
 * <pre>{@code
 * SaeTrainingConfig cfg = SaeTrainingConfig.builder(SaeArchitecture.TOPK, "blocks.0.hook_resid_post", 32, 128)
 *         .k(8).lr(1e-3).trainingTokens(102_400).trainBatchSizeTokens(256).contextSize(32).build();
 * try (TrainedSae trained = SaeTrainer.train(cfg, new ModelActivations(model, tokens, cfg.hookName(), 32, 16, manager),
 *         SaeTrainer.Checkpoints.NONE, null, manager)) {
 *     trained.save(Path.of("my-sae"));  // cfg.json, sae_weights.safetensors, sparsity.safetensors
 * }
 * }</pre>
 */
public final class SaeTrainer {
    private SaeTrainer() {}

    /**
     * Where and how often checkpoints are written.
     *
     * @param dir the checkpoint folder, or null for none
     * @param every a checkpoint after every this many steps (and after the last)
     * @param resume continue from the checkpoint in {@code dir} if there is one
     */
    public record Checkpoints(Path dir, int every, boolean resume) {
        /** No checkpoints. */
        public static final Checkpoints NONE = new Checkpoints(null, 1, false);

        public Checkpoints {
            if (every <= 0) {
                throw new LoupeException("Checkpoints need a positive interval, got " + every);
            }
            if (resume && dir == null) {
                throw new LoupeException("Resuming needs the checkpoint folder of the run to continue");
            }
        }
    }

    /**
     * Trains an SAE on {@code source}'s activations.
     *
     * @param progress told after every step (a {@code ProgressBar}, say), or null
     * @param parent owns the returned SAE (through a manager of its own)
     * @throws dev.loupe.stop.StoppedException when the thread's {@link StopSignal} is requested: at the next step
     *     boundary, after saving a checkpoint there (with a checkpoint folder); its message names the step
     */
    public static TrainedSae train(SaeTrainingConfig cfg, ActivationSource source, Checkpoints checkpoints,
            TrainingProgress progress, NDManager parent) {
        if (source.dIn() != cfg.dIn()) {
            throw new LoupeException("The activations are " + source.dIn() + " wide but the SAE's d_in is " + cfg.dIn());
        }
        long total = cfg.totalSteps();
        try (NDManager manager = parent.newSubManager()) {
            TrainingRandom random = TrainingRandom.seeded(cfg.seed());
            TrainingSae sae = TrainingSae.initialize(cfg, random, manager);
            TrainingCheckpoint saved = checkpoints.resume() && TrainingCheckpoint.exists(checkpoints.dir())
                    ? TrainingCheckpoint.read(checkpoints.dir()) : null;
            if (saved != null) {
                random = TrainingRandom.fromState(saved.randomState());
            }
            FeatureFiring firing = new FeatureFiring(cfg.dSae(), cfg.deadFeatureWindow(), cfg.featureSamplingWindow());
            List<TrainingStepLog> curve = new ArrayList<>();
            try (AdamW adam = AdamW.builder().weightDecay(0).betas(cfg.adamBeta1(), cfg.adamBeta2())
                    .build(sae.parameterList());
                    MixingBuffer buffer = new MixingBuffer(source, cfg.bufferSize(), cfg.trainBatchSizeTokens(), random,
                            manager)) {
                long first = 0;
                double scale;
                if (saved != null) {
                    SaeCheckpoint.Restored restored = SaeCheckpoint.restore(saved, sae, adam, buffer, source, firing);
                    first = saved.step();
                    scale = restored.scalingFactor();
                    curve.addAll(restored.curve());
                } else {
                    scale = cfg.normalizeActivations() == ActivationNormalization.EXPECTED_AVERAGE_ONLY_IN
                            ? estimateScalingFactor(cfg, buffer, manager) : 1.0;
                }
                long lastSaved = saved == null ? -1 : first;
                StopSignal stop = StopSignal.current();
                for (long step = first; step < total; step++) {
                    if (stop.requested()) {
                        if (checkpoints.dir() != null && step > first && lastSaved != step) {
                            SaeCheckpoint.save(checkpoints.dir(), step, random, sae, adam, buffer, source, firing, scale,
                                    curve);
                            lastSaved = step;
                        }
                        throw stop.stopped(stoppedAt(step, total, checkpoints.dir(), lastSaved));
                    }
                    TrainingStepLog log = step(cfg, sae, adam, buffer, firing, step, scale, manager);
                    curve.add(log);
                    if (progress != null) {
                        progress.update(step + 1, log.loss(), log.lr(), String.format(Locale.ROOT,
                                "  mse %.3f  %s %.3f  L0 %.1f  dead %d", log.mseLoss(),
                                TrainedSae.sparsityTermName(cfg.architecture()), log.sparsityLoss(), log.l0(),
                                log.deadFeatures()));
                    }
                    if (checkpoints.dir() != null && ((step + 1) % checkpoints.every() == 0 || step + 1 == total)) {
                        SaeCheckpoint.save(checkpoints.dir(), step + 1, random, sae, adam, buffer, source, firing, scale,
                                curve);
                        lastSaved = step + 1;
                    }
                }
                Sae result = Sae.of(TrainedSae.saeConfig(cfg), sae.inferenceTensors(scale, manager), parent);
                return new TrainedSae(result, cfg, List.copyOf(curve), firing.logSparsity(), firing.deadCount(), first,
                        scale);
            } finally {
                sae.close();
            }
        }
    }

    private static TrainingStepLog step(SaeTrainingConfig cfg, TrainingSae sae, AdamW adam, MixingBuffer buffer,
            FeatureFiring firing, long step, double scale, NDManager manager) {
        try (NDManager scratch = manager.newSubManager()) {
            firing.beforeStep(step);
            NDArray batch = buffer.nextBatch(scratch);
            NDArray x = scale == 1.0 ? batch : batch.mul((float) scale);
            TrainingObjective.Terms terms = TrainingObjective.computeGradients(sae, x, cfg.sparsityCoefficientAt(step),
                    firing.dead());
            firing.record(terms.fired(), cfg.trainBatchSizeTokens());
            GradientClipping.clipGradNorm(sae.parameterList(), 1.0);
            double lr = cfg.lrAt(step);
            adam.step(lr);
            return new TrainingStepLog(step, terms.loss(), terms.mse(), terms.sparsityLoss(), terms.l0(),
                    terms.explainedVariance(), firing.deadCount(), lr);
        }
    }

    /**
     * SAELens's {@code ActivationScaler.estimate_scaling_factor}: √d_in / the mean over batches of each batch's
     * mean ‖x‖, from {@code n_batches_for_norm_estimate} batches of the buffer (which they use up, as in SAELens).
     */
    private static double estimateScalingFactor(SaeTrainingConfig cfg, MixingBuffer buffer, NDManager manager) {
        double sum = 0;
        for (int i = 0; i < cfg.nBatchesForNormEstimate(); i++) {
            try (NDManager scratch = manager.newSubManager()) {
                sum += buffer.nextBatch(scratch).norm(new int[] {-1}).mean().getFloat();
            }
        }
        return Math.sqrt(cfg.dIn()) / (sum / cfg.nBatchesForNormEstimate());
    }

    /** How far a stopped run got: {@code "after step 12 of 250; the last checkpoint is DIR (step 12)"}. */
    private static String stoppedAt(long done, long total, Path dir, long saved) {
        String where = done == 0 ? "before step 1 of " + total : "after step " + done + " of " + total;
        if (dir == null) {
            return where + "; no checkpoint folder was given, so the run cannot be resumed";
        }
        return where + (saved < 0 ? "; no checkpoint was written" : "; the last checkpoint is "
                + dir.toAbsolutePath().normalize() + " (step " + saved + ")");
    }
}
