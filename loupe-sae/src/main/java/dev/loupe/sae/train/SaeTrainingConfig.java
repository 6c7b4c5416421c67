package dev.loupe.sae.train;

import dev.loupe.LoupeException;
import dev.loupe.sae.format.ActivationNormalization;
import dev.loupe.sae.format.SaeArchitecture;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How an SAE is trained: SAELens 6.18's {@code LanguageModelSAERunnerConfig} and training-SAE configs, with
 * their defaults ({@link #builder}); Java names are the camelCase of SAELens's ({@code l1_warm_up_steps} →
 * {@code l1WarmUpSteps}). Widths: the SAE maps [batch, d_in] → [batch, d_sae] → [batch, d_in].
 *
 * @param architecture {@code standard}, {@code topk} or {@code jumprelu}
 * @param hookName the hook point whose activations are trained on ({@code blocks.0.hook_resid_post})
 * @param trainingTokens how many activations are trained on; steps = trainingTokens / trainBatchSizeTokens
 * @param contextSize the length of the sequences the activations come from (recorded in the SAE's metadata)
 * @param nBatchesInBuffer the mixing buffer holds this many batches; half is handed out after each shuffle
 * @param storeBatchSizePrompts how many sequences one harvest runs through the model
 * @param normalizeActivations {@code none} or {@code expected_average_only_in} (scaled so that E‖x‖ = √d_in,
 *     estimated from {@code nBatchesForNormEstimate} batches and folded into the weights at the end)
 * @param deadFeatureWindow a feature is dead after more steps than this without firing (topk's AuxK loss uses it)
 * @param featureSamplingWindow the firing frequencies (sparsity.safetensors) are reset every this many steps
 * @param seed seeds the initial weights and the buffer's shuffles (Loupe's {@code TrainingRandom})
 */
public record SaeTrainingConfig(SaeArchitecture architecture, String hookName, int dIn, int dSae,
        boolean applyBDecToInput, ActivationNormalization normalizeActivations, double decoderInitNorm,
        double l1Coefficient, int l1WarmUpSteps, int k, double auxLossCoefficient, boolean rescaleActsByDecoderNorm,
        double l0Coefficient, int l0WarmUpSteps, double jumpreluBandwidth, double jumpreluInitThreshold,
        long trainingTokens, int trainBatchSizeTokens, int contextSize, int storeBatchSizePrompts, int nBatchesInBuffer,
        double lr, double adamBeta1, double adamBeta2, int lrWarmUpSteps, int lrDecaySteps,
        int deadFeatureWindow, int featureSamplingWindow, int nBatchesForNormEstimate, long seed,
        String modelName, String datasetPath) {

    public SaeTrainingConfig {
        Objects.requireNonNull(architecture, "architecture");
        Objects.requireNonNull(hookName, "hookName");
        Objects.requireNonNull(normalizeActivations, "normalizeActivations");
        if (architecture != SaeArchitecture.STANDARD && architecture != SaeArchitecture.TOPK
                && architecture != SaeArchitecture.JUMPRELU) {
            throw new LoupeException("Loupe trains standard, topk and jumprelu SAEs, not " + architecture.jsonName());
        }
        if (normalizeActivations != ActivationNormalization.NONE
                && normalizeActivations != ActivationNormalization.EXPECTED_AVERAGE_ONLY_IN) {
            throw new LoupeException("Training normalises activations with none or expected_average_only_in, not "
                    + normalizeActivations.jsonName());
        }
        if (dIn <= 0 || dSae <= 0) {
            throw new LoupeException("d_in and d_sae must be positive, got " + dIn + " and " + dSae);
        }
        if (architecture == SaeArchitecture.TOPK && (k <= 0 || k > dSae)) {
            throw new LoupeException("topk needs 1 <= k <= d_sae (" + dSae + "), got k = " + k + "; set --k");
        }
        if (trainBatchSizeTokens <= 0 || contextSize <= 0 || storeBatchSizePrompts <= 0 || nBatchesInBuffer < 2) {
            throw new LoupeException("train_batch_size_tokens and store_batch_size_prompts must be positive and"
                    + " n_batches_in_buffer >= 2, got " + trainBatchSizeTokens + ", " + storeBatchSizePrompts + ", "
                    + nBatchesInBuffer);
        }
        if (trainingTokens < trainBatchSizeTokens) {
            throw new LoupeException("training_tokens (" + trainingTokens + ") is less than one batch ("
                    + trainBatchSizeTokens + " tokens); raise training_tokens");
        }
        if (!(lr > 0) || lrWarmUpSteps < 0 || lrDecaySteps < 0 || lrWarmUpSteps + lrDecaySteps > trainingTokens
                / trainBatchSizeTokens) {
            throw new LoupeException("lr must be > 0 and lr_warm_up_steps + lr_decay_steps at most the "
                    + trainingTokens / trainBatchSizeTokens + " steps, got lr " + lr + ", warm-up " + lrWarmUpSteps
                    + ", decay " + lrDecaySteps);
        }
        if (!(l1Coefficient >= 0) || !(l0Coefficient >= 0) || !(auxLossCoefficient >= 0) || l1WarmUpSteps < 0
                || l0WarmUpSteps < 0 || !(jumpreluBandwidth > 0) || !(jumpreluInitThreshold > 0)
                || !(decoderInitNorm > 0)) {
            throw new LoupeException("Coefficients must be >= 0, warm-ups >= 0, and the jumprelu bandwidth, initial"
                    + " threshold and decoder_init_norm > 0");
        }
        if (deadFeatureWindow <= 0 || featureSamplingWindow <= 0 || nBatchesForNormEstimate <= 0) {
            throw new LoupeException("dead_feature_window, feature_sampling_window and n_batches_for_norm_estimate"
                    + " must be positive");
        }
        modelName = modelName == null ? "" : modelName;
        datasetPath = datasetPath == null ? "" : datasetPath;
    }

    /** SAELens's defaults for {@code architecture} at {@code hookName}, d_in → d_sae. */
    public static Builder builder(SaeArchitecture architecture, String hookName, int dIn, int dSae) {
        return new Builder(architecture, hookName, dIn, dSae);
    }

    /** The number of optimizer steps: training tokens / batch tokens. */
    public long totalSteps() {
        return trainingTokens / trainBatchSizeTokens;
    }

    /** The mixing buffer's size in activations. */
    public int bufferSize() {
        return nBatchesInBuffer * trainBatchSizeTokens;
    }

    /** The learning rate of step {@code step}: SAELens's {@code constant} schedule with linear warm-up and decay. */
    public double lrAt(long step) {
        if (step < lrWarmUpSteps) {
            return lr * (step + 1) / lrWarmUpSteps; // torch LinearLR from 1/W to 1 over W − 1 steps
        }
        long decayStart = totalSteps() - lrDecaySteps;
        if (lrDecaySteps > 0 && step >= decayStart) {
            return lr * (1.0 - (double) (step - decayStart) / lrDecaySteps);
        }
        return lr;
    }

    /** The sparsity coefficient (l1 or l0) used at step {@code step}: SAELens's CoefficientScheduler. */
    public double sparsityCoefficientAt(long step) {
        boolean l1 = architecture == SaeArchitecture.STANDARD;
        double value = l1 ? l1Coefficient : l0Coefficient;
        int warmUp = l1 ? l1WarmUpSteps : l0WarmUpSteps;
        // The scheduler steps after each optimizer step, so step s uses value·s/W.
        return warmUp > 0 && step < warmUp ? value * step / warmUp : value;
    }

    /** The config by SAELens's names, for checkpoints and the runner's JSON. */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", architecture.jsonName());
        m.put("hook_name", hookName);
        m.put("d_in", dIn);
        m.put("d_sae", dSae);
        m.put("apply_b_dec_to_input", applyBDecToInput);
        m.put("normalize_activations", normalizeActivations.jsonName());
        m.put("decoder_init_norm", decoderInitNorm);
        m.put("l1_coefficient", l1Coefficient);
        m.put("l1_warm_up_steps", l1WarmUpSteps);
        m.put("k", k);
        m.put("aux_loss_coefficient", auxLossCoefficient);
        m.put("rescale_acts_by_decoder_norm", rescaleActsByDecoderNorm);
        m.put("l0_coefficient", l0Coefficient);
        m.put("l0_warm_up_steps", l0WarmUpSteps);
        m.put("jumprelu_bandwidth", jumpreluBandwidth);
        m.put("jumprelu_init_threshold", jumpreluInitThreshold);
        m.put("training_tokens", trainingTokens);
        m.put("train_batch_size_tokens", trainBatchSizeTokens);
        m.put("context_size", contextSize);
        m.put("store_batch_size_prompts", storeBatchSizePrompts);
        m.put("n_batches_in_buffer", nBatchesInBuffer);
        m.put("lr", lr);
        m.put("adam_beta1", adamBeta1);
        m.put("adam_beta2", adamBeta2);
        m.put("lr_warm_up_steps", lrWarmUpSteps);
        m.put("lr_decay_steps", lrDecaySteps);
        m.put("dead_feature_window", deadFeatureWindow);
        m.put("feature_sampling_window", featureSamplingWindow);
        m.put("n_batches_for_norm_estimate", nBatchesForNormEstimate);
        m.put("seed", seed);
        m.put("model_name", modelName);
        m.put("dataset_path", datasetPath);
        return m;
    }

    /** Builds a {@link SaeTrainingConfig}; every default is SAELens 6.18's. */
    public static final class Builder {
        private final SaeArchitecture architecture;
        private final String hookName;
        private final int dIn;
        private final int dSae;
        private boolean applyBDecToInput = true;
        private ActivationNormalization normalizeActivations = ActivationNormalization.NONE;
        private double decoderInitNorm = 0.1;
        private double l1Coefficient = 1.0;
        private int l1WarmUpSteps;
        private int k = 100;
        private double auxLossCoefficient = 1.0;
        private boolean rescaleActsByDecoderNorm = true;
        private double l0Coefficient = 1.0;
        private int l0WarmUpSteps;
        private double jumpreluBandwidth = 0.05;
        private double jumpreluInitThreshold = 0.01;
        private long trainingTokens = 2_000_000;
        private int trainBatchSizeTokens = 4096;
        private int contextSize = 128;
        private int storeBatchSizePrompts = 32;
        private int nBatchesInBuffer = 20;
        private double lr = 3e-4;
        private double adamBeta1 = 0.9;
        private double adamBeta2 = 0.999;
        private int lrWarmUpSteps;
        private int lrDecaySteps;
        private int deadFeatureWindow = 1000;
        private int featureSamplingWindow = 2000;
        private int nBatchesForNormEstimate = 1000;
        private long seed = 42;
        private String modelName = "";
        private String datasetPath = "";

        private Builder(SaeArchitecture architecture, String hookName, int dIn, int dSae) {
            this.architecture = architecture;
            this.hookName = hookName;
            this.dIn = dIn;
            this.dSae = dSae;
        }

        public Builder applyBDecToInput(boolean v) { applyBDecToInput = v; return this; }
        public Builder normalizeActivations(ActivationNormalization v) { normalizeActivations = v; return this; }
        public Builder decoderInitNorm(double v) { decoderInitNorm = v; return this; }
        public Builder l1Coefficient(double v) { l1Coefficient = v; return this; }
        public Builder l1WarmUpSteps(int v) { l1WarmUpSteps = v; return this; }
        public Builder k(int v) { k = v; return this; }
        public Builder auxLossCoefficient(double v) { auxLossCoefficient = v; return this; }
        public Builder rescaleActsByDecoderNorm(boolean v) { rescaleActsByDecoderNorm = v; return this; }
        public Builder l0Coefficient(double v) { l0Coefficient = v; return this; }
        public Builder l0WarmUpSteps(int v) { l0WarmUpSteps = v; return this; }
        public Builder jumpreluBandwidth(double v) { jumpreluBandwidth = v; return this; }
        public Builder jumpreluInitThreshold(double v) { jumpreluInitThreshold = v; return this; }
        public Builder trainingTokens(long v) { trainingTokens = v; return this; }
        public Builder trainBatchSizeTokens(int v) { trainBatchSizeTokens = v; return this; }
        public Builder contextSize(int v) { contextSize = v; return this; }
        public Builder storeBatchSizePrompts(int v) { storeBatchSizePrompts = v; return this; }
        public Builder nBatchesInBuffer(int v) { nBatchesInBuffer = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder adamBetas(double b1, double b2) { adamBeta1 = b1; adamBeta2 = b2; return this; }
        public Builder lrWarmUpSteps(int v) { lrWarmUpSteps = v; return this; }
        public Builder lrDecaySteps(int v) { lrDecaySteps = v; return this; }
        public Builder deadFeatureWindow(int v) { deadFeatureWindow = v; return this; }
        public Builder featureSamplingWindow(int v) { featureSamplingWindow = v; return this; }
        public Builder nBatchesForNormEstimate(int v) { nBatchesForNormEstimate = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder modelName(String v) { modelName = v; return this; }
        public Builder datasetPath(String v) { datasetPath = v; return this; }

        public SaeTrainingConfig build() {
            return new SaeTrainingConfig(architecture, hookName, dIn, dSae, applyBDecToInput, normalizeActivations,
                    decoderInitNorm, l1Coefficient, l1WarmUpSteps, k, auxLossCoefficient, rescaleActsByDecoderNorm,
                    l0Coefficient, l0WarmUpSteps, jumpreluBandwidth, jumpreluInitThreshold, trainingTokens,
                    trainBatchSizeTokens, contextSize, storeBatchSizePrompts, nBatchesInBuffer, lr, adamBeta1, adamBeta2,
                    lrWarmUpSteps, lrDecaySteps, deadFeatureWindow, featureSamplingWindow, nBatchesForNormEstimate,
                    seed, modelName, datasetPath);
        }
    }
}
