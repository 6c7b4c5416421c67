package dev.loupe.lens.train;

import dev.loupe.LoupeException;
import dev.loupe.lens.LensHook;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a tuned lens is trained; the defaults are the tuned-lens library's ({@code tuned-lens train}):
 * KL without token shift, SGD with Nesterov momentum 0.9 at torch learning rate 0.1 (lr scale 1 ×
 * (1 − momentum)), weight decay 1e-3, linear decay to 0 without warm-up, gradient norm clipped to 1,
 * 250 steps of 2^18 tokens in sequences of 2,048.
 *
 * @param numSteps optimizer steps
 * @param tokensPerStep tokens per optimizer step; a multiple of the sequence length
 * @param maxSeqLen the sequence length (capped by the model's context)
 * @param perGpuBatchSize sequences per forward pass; a step accumulates gradients over
 *     {@code ceil(tokensPerStep / maxSeqLen / perGpuBatchSize)} of them
 * @param loss KL against the model's output or cross-entropy against the next token
 * @param tokenShift how far predictions are shifted against their targets (null: the loss's default)
 * @param optimizer SGD or Adam
 * @param lrScale the library's learning-rate scale
 * @param momentum SGD momentum, or Adam's β1
 * @param weightDecay L2 weight decay
 * @param warmupSteps linear warm-up steps
 * @param gradClip the largest global gradient norm
 * @param biasOnly train the translators' biases only
 * @param hook the residual stream the lens reads ({@code resid_pre}, as the library; or {@code resid_mid})
 * @param seed the order of the sequences
 * @param repeatData cycle through the data when it is smaller than the budget (otherwise refused)
 * @param checkpointFreq write a checkpoint every this many steps (0: never)
 * @param checkpointDir where checkpoints go (resumed from automatically when one is there)
 */
public record LensTrainingOptions(int numSteps, int tokensPerStep, int maxSeqLen, int perGpuBatchSize, LensLoss loss,
        Integer tokenShift, LensOptimizer optimizer, double lrScale, double momentum, double weightDecay,
        int warmupSteps, double gradClip, boolean biasOnly, LensHook hook, long seed, boolean repeatData,
        int checkpointFreq, Path checkpointDir) implements Serializable {
    // Serializable for data-parallel training, which ships the options without their checkpoint folder (a Path
    // is not serializable; only the driver writes checkpoints).
    private static final long serialVersionUID = 1L;

    public LensTrainingOptions {
        if (numSteps < 1 || tokensPerStep < 1 || maxSeqLen < 1 || perGpuBatchSize < 1) {
            throw new LoupeException("Steps, tokens per step, sequence length and batch size must be positive");
        }
        if (warmupSteps < 0 || warmupSteps >= numSteps) {
            throw new LoupeException("Warm-up steps must be in [0, num steps), got " + warmupSteps);
        }
        if (checkpointFreq < 0) {
            throw new LoupeException("The checkpoint frequency must be ≥ 0, got " + checkpointFreq);
        }
        if (checkpointFreq > 0 && checkpointDir == null) {
            throw new LoupeException("A checkpoint frequency needs a checkpoint folder");
        }
        if (tokenShift != null && tokenShift < 0) {
            throw new LoupeException("The token shift must be ≥ 0, got " + tokenShift);
        }
    }

    /** The library's defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these options. */
    public Builder toBuilder() {
        return new Builder().numSteps(numSteps).tokensPerStep(tokensPerStep).maxSeqLen(maxSeqLen)
                .perGpuBatchSize(perGpuBatchSize).loss(loss).tokenShift(tokenShift).optimizer(optimizer)
                .lrScale(lrScale).momentum(momentum).weightDecay(weightDecay).warmupSteps(warmupSteps)
                .gradClip(gradClip).biasOnly(biasOnly).hook(hook).seed(seed).repeatData(repeatData)
                .checkpointFreq(checkpointFreq).checkpointDir(checkpointDir);
    }

    /** The token shift in effect. */
    public int effectiveTokenShift() {
        return tokenShift != null ? tokenShift : loss.defaultTokenShift();
    }

    /** The peak learning rate torch sees: {@code lr_scale × (1 − momentum)} for SGD, {@code lr_scale × 1e-3} for Adam. */
    public double learningRate() {
        return optimizer == LensOptimizer.SGD ? lrScale * (1 - momentum) : lrScale * 1e-3;
    }

    /** The options that must match for a checkpoint to be resumed, by the library's flag names. */
    Map<String, Object> asJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("num_steps", numSteps);
        json.put("tokens_per_step", tokensPerStep);
        json.put("max_seq_len", maxSeqLen);
        json.put("per_gpu_batch_size", perGpuBatchSize);
        json.put("loss", loss.name().toLowerCase(java.util.Locale.ROOT));
        json.put("token_shift", effectiveTokenShift());
        json.put("optimizer", optimizer.name().toLowerCase(java.util.Locale.ROOT));
        json.put("lr_scale", lrScale);
        json.put("momentum", momentum);
        json.put("weight_decay", weightDecay);
        json.put("warmup_steps", warmupSteps);
        json.put("grad_clip", gradClip);
        json.put("bias_only", biasOnly);
        json.put("hook", hook.key());
        json.put("seed", seed);
        json.put("repeat_data", repeatData);
        return json;
    }

    /** Builds {@link LensTrainingOptions}; starts from the library's defaults. */
    public static final class Builder {
        private int numSteps = 250;
        private int tokensPerStep = 1 << 18;
        private int maxSeqLen = 2048;
        private int perGpuBatchSize = 1;
        private LensLoss loss = LensLoss.KL;
        private Integer tokenShift;
        private LensOptimizer optimizer = LensOptimizer.SGD;
        private double lrScale = 1.0;
        private double momentum = 0.9;
        private double weightDecay = 1e-3;
        private int warmupSteps;
        private double gradClip = 1.0;
        private boolean biasOnly;
        private LensHook hook = LensHook.RESID_PRE;
        private long seed = 42;
        private boolean repeatData;
        private int checkpointFreq;
        private Path checkpointDir;

        private Builder() {}

        public Builder numSteps(int v) { numSteps = v; return this; }
        public Builder tokensPerStep(int v) { tokensPerStep = v; return this; }
        public Builder maxSeqLen(int v) { maxSeqLen = v; return this; }
        public Builder perGpuBatchSize(int v) { perGpuBatchSize = v; return this; }
        public Builder loss(LensLoss v) { loss = v; return this; }
        public Builder tokenShift(Integer v) { tokenShift = v; return this; }
        public Builder optimizer(LensOptimizer v) { optimizer = v; return this; }
        public Builder lrScale(double v) { lrScale = v; return this; }
        public Builder momentum(double v) { momentum = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder gradClip(double v) { gradClip = v; return this; }
        public Builder biasOnly(boolean v) { biasOnly = v; return this; }
        public Builder hook(LensHook v) { hook = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder repeatData(boolean v) { repeatData = v; return this; }
        public Builder checkpointFreq(int v) { checkpointFreq = v; return this; }
        public Builder checkpointDir(Path v) { checkpointDir = v; return this; }

        public LensTrainingOptions build() {
            return new LensTrainingOptions(numSteps, tokensPerStep, maxSeqLen, perGpuBatchSize, loss, tokenShift,
                    optimizer, lrScale, momentum, weightDecay, warmupSteps, gradClip, biasOnly, hook, seed, repeatData,
                    checkpointFreq, checkpointDir);
        }
    }
}
