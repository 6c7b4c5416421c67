package dev.loupe.train.ioi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.config.ActivationFunctionType;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.PositionalEmbeddingType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.train.TrainingRandom;
import dev.loupe.train.toy.ToyModels;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How to train a small transformer with MLPs on the {@link IoiTask} of {@code seed}: its shape and the
 * optimisation (AdamW, linear warm-up then cosine decay, global gradient-norm clipping); the loss is the
 * cross-entropy of the answer (the IO) at each prompt's last position.
 *
 * <pre>{@code
 * IoiTrainingOptions options = IoiTrainingOptions.builder().nLayers(3).steps(3000).build();
 * }</pre>
 *
 * @param seed fixes the task's split, the initial weights and every batch
 * @param warmupSteps steps of linear warm-up from 0 (negative: min(200, steps / 10))
 */
public record IoiTrainingOptions(String modelName, int nLayers, int dModel, int nHeads, int dMlp, int steps,
        int batchSize, double learningRate, int warmupSteps, double minLearningRate, double weightDecay,
        double maxGradNorm, long seed, int checkpointEvery) {

    public IoiTrainingOptions {
        if (warmupSteps < 0) {
            warmupSteps = Math.min(200, steps / 10);
        }
        if (nLayers < 1 || dModel < 1 || nHeads < 1 || dModel % nHeads != 0 || dMlp < 1) {
            throw new LoupeException("An IOI model needs n_layers >= 1, d_mlp >= 1 and d_model divisible by n_heads, got "
                    + nLayers + " layers, d_model " + dModel + ", " + nHeads + " heads, d_mlp " + dMlp);
        }
        if (steps < 1 || batchSize < 1 || warmupSteps > steps || checkpointEvery < 1) {
            throw new LoupeException("Training needs steps >= 1, batch size >= 1, warm-up <= steps and checkpoint"
                    + " interval >= 1; got " + steps + " steps, batch " + batchSize + ", warm-up " + warmupSteps
                    + ", checkpoint every " + checkpointEvery);
        }
    }

    /** The defaults of the shipped model {@code ioi-3l}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The model: GPT-2's shape in small (LayerNorm before attention and MLP and at the end, learned
     * absolute positions, GELU MLPs), vocabulary {@link IoiVocabulary}, context {@link IoiTask#N_CTX}.
     */
    public TransformerConfig config() {
        return TransformerConfig.builder().nLayers(nLayers).dModel(dModel).nHeads(nHeads).dHead(dModel / nHeads)
                .dMlp(dMlp).actFn(ActivationFunctionType.GELU).nCtx(IoiTask.N_CTX).dVocab(IoiVocabulary.size())
                .normalizationType(NormalizationType.LN).positionalEmbeddingType(PositionalEmbeddingType.STANDARD)
                .defaultPrependBos(true).modelName(modelName).build();
    }

    /** Initial weights as TransformerLens's {@code init_weights_gpt2}, drawn from {@code random}. */
    public Map<String, NDArray> initialParameters(TrainingRandom random, NDManager manager) {
        return ToyModels.initialParameters(config(), random, manager);
    }

    /** The options by snake_case name, for checkpoints and model cards. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", "ioi");
        m.put("model_name", modelName);
        m.put("n_layers", nLayers);
        m.put("d_model", dModel);
        m.put("n_heads", nHeads);
        m.put("d_mlp", dMlp);
        m.put("d_vocab", IoiVocabulary.size());
        m.put("n_ctx", IoiTask.N_CTX);
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

    /** Builds {@link IoiTrainingOptions}. */
    public static final class Builder {
        private String modelName = "ioi-3l";
        private int nLayers = 3;
        private int dModel = 64;
        private int nHeads = 4;
        private int dMlp = 256;
        private int steps = 6000;
        private int batchSize = 64;
        private double learningRate = 1e-3;
        private int warmupSteps = -1;
        private double minLearningRate = 1e-4;
        private double weightDecay = 0.01;
        private double maxGradNorm = 1.0;
        private long seed = 0;
        private int checkpointEvery = 500;

        private Builder() {}

        public Builder modelName(String v) { modelName = v; return this; }
        public Builder nLayers(int v) { nLayers = v; return this; }
        public Builder dModel(int v) { dModel = v; return this; }
        public Builder nHeads(int v) { nHeads = v; return this; }
        public Builder dMlp(int v) { dMlp = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder minLearningRate(double v) { minLearningRate = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }

        public IoiTrainingOptions build() {
            return new IoiTrainingOptions(modelName, nLayers, dModel, nHeads, dMlp, steps, batchSize, learningRate,
                    warmupSteps, minLearningRate, weightDecay, maxGradNorm, seed, checkpointEvery);
        }
    }
}
