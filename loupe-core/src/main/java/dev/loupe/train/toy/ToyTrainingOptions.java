package dev.loupe.train.toy;

import dev.loupe.LoupeException;
import dev.loupe.config.PositionalEmbeddingType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How to train a toy attention-only model on {@link RepeatedTokens}: the model's shape, the data,
 * and the optimisation (AdamW, linear warm-up then cosine decay, global gradient-norm clipping).
 *
 * <pre>{@code
 * ToyTrainingOptions options = ToyTrainingOptions.builder().nLayers(2).steps(6000).seed(0).build();
 * }</pre>
 *
 * @param modelName the name written into the model's config
 * @param positionalEmbeddingType {@code ROTARY} (the default: positions enter only through the
 *     query-key rotation, so the residual stream carries none and the only way to find "the token
 *     after the earlier occurrence" is a previous-token head composed with an induction head) or
 *     {@code STANDARD} (learned absolute positions, with which models also find positional solutions)
 * @param minRepeat shortest repeated segment of a training sequence
 * @param maxRepeat longest repeated segment
 * @param batchSize sequences per step (each n_ctx tokens)
 * @param learningRate the peak learning rate
 * @param warmupSteps steps of linear warm-up from 0 (negative: min(100, steps / 10))
 * @param minLearningRate the rate the cosine decay ends at
 * @param maxGradNorm gradients are clipped to this global L2 norm
 * @param seed fixes the initial weights and every batch
 * @param checkpointEvery steps between checkpoints (when a checkpoint folder is given)
 */
public record ToyTrainingOptions(String modelName, int nLayers, int dModel, int nHeads, int dVocab, int nCtx,
        PositionalEmbeddingType positionalEmbeddingType, int minRepeat, int maxRepeat, int steps, int batchSize, double learningRate, int warmupSteps,
        double minLearningRate, double weightDecay, double maxGradNorm, long seed, int checkpointEvery) {

    public ToyTrainingOptions {
        if (warmupSteps < 0) {
            warmupSteps = Math.min(100, steps / 10);
        }
        if (nLayers < 1 || dModel < 1 || nHeads < 1 || dModel % nHeads != 0) {
            throw new LoupeException("A toy model needs n_layers >= 1 and d_model divisible by n_heads, got " + nLayers
                    + " layers, d_model " + dModel + ", " + nHeads + " heads");
        }
        if (steps < 1 || batchSize < 1 || warmupSteps < 0 || warmupSteps > steps || checkpointEvery < 1) {
            throw new LoupeException("Training needs steps >= 1, batch size >= 1, 0 <= warm-up <= steps and"
                    + " checkpoint interval >= 1; got " + steps + " steps, batch " + batchSize + ", warm-up "
                    + warmupSteps + ", checkpoint every " + checkpointEvery);
        }
        new RepeatedTokens(dVocab, nCtx, minRepeat, maxRepeat); // checks the data's sizes
        boolean supported = positionalEmbeddingType != null && switch (positionalEmbeddingType) {
            case ROTARY, STANDARD -> true;
            case ALIBI -> false;
        };
        if (!supported) {
            throw new LoupeException("Toy models use rotary or standard positions, got '" + positionalEmbeddingType + "'");
        }
    }

    /** The defaults of the shipped models (2 layers). */
    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().modelName(modelName).nLayers(nLayers).dModel(dModel).nHeads(nHeads).dVocab(dVocab)
                .nCtx(nCtx).positionalEmbeddingType(positionalEmbeddingType).minRepeat(minRepeat).maxRepeat(maxRepeat).steps(steps).batchSize(batchSize)
                .learningRate(learningRate).warmupSteps(warmupSteps).minLearningRate(minLearningRate)
                .weightDecay(weightDecay).maxGradNorm(maxGradNorm).seed(seed).checkpointEvery(checkpointEvery);
    }

    /** The options by snake_case name, for checkpoints and model cards. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model_name", modelName);
        m.put("n_layers", nLayers);
        m.put("d_model", dModel);
        m.put("n_heads", nHeads);
        m.put("d_vocab", dVocab);
        m.put("n_ctx", nCtx);
        m.put("positional_embedding_type", positionalEmbeddingType.jsonName());
        m.put("min_repeat", minRepeat);
        m.put("max_repeat", maxRepeat);
        m.put("steps", steps);
        m.put("batch_size", batchSize);
        m.put("learning_rate", learningRate);
        m.put("warmup_steps", warmupSteps);
        m.put("min_learning_rate", minLearningRate);
        m.put("weight_decay", weightDecay);
        m.put("max_grad_norm", maxGradNorm);
        m.put("seed", seed);
        m.put("checkpoint_every", checkpointEvery);
        return m;
    }

    /** Builds {@link ToyTrainingOptions}. */
    public static final class Builder {
        private String modelName = "induction-2l";
        private int nLayers = 2;
        private int dModel = 64;
        private int nHeads = 4;
        private int dVocab = 300;
        private int nCtx = 64;
        private PositionalEmbeddingType positionalEmbeddingType = PositionalEmbeddingType.ROTARY;
        private int minRepeat = 2;
        private int maxRepeat = 31;
        private int steps = 6000;
        private int batchSize = 32;
        private double learningRate = 2e-3;
        private int warmupSteps = -1;
        private double minLearningRate = 2e-4;
        private double weightDecay = 0.01;
        private double maxGradNorm = 1.0;
        private long seed = 0;
        private int checkpointEvery = 500;

        private Builder() {}

        public Builder modelName(String v) { modelName = v; return this; }
        public Builder nLayers(int v) { nLayers = v; return this; }
        public Builder dModel(int v) { dModel = v; return this; }
        public Builder nHeads(int v) { nHeads = v; return this; }
        public Builder dVocab(int v) { dVocab = v; return this; }
        public Builder nCtx(int v) { nCtx = v; return this; }
        public Builder positionalEmbeddingType(PositionalEmbeddingType v) { positionalEmbeddingType = v; return this; }

        /** The positions by TransformerLens's name, {@code "rotary"} or {@code "standard"}. */
        public Builder positionalEmbeddingType(String jsonName) {
            try {
                return positionalEmbeddingType(PositionalEmbeddingType.fromJson(jsonName));
            } catch (LoupeException e) {
                throw new LoupeException("Toy models use rotary or standard positions, got '" + jsonName + "'", e);
            }
        }
        public Builder minRepeat(int v) { minRepeat = v; return this; }
        public Builder maxRepeat(int v) { maxRepeat = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder minLearningRate(double v) { minLearningRate = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }

        public ToyTrainingOptions build() {
            return new ToyTrainingOptions(modelName, nLayers, dModel, nHeads, dVocab, nCtx, positionalEmbeddingType,
                    minRepeat, maxRepeat, steps,
                    batchSize, learningRate, warmupSteps, minLearningRate, weightDecay, maxGradNorm, seed,
                    checkpointEvery);
        }
    }
}
