package dev.loupe.spark;

import ai.djl.ndarray.NDArray;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.TunedLensTrainer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.testing.Fixtures;
import dev.loupe.tokenize.TokenChunks;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one-process tuned-lens training the Spark trainings are compared with: 20 steps of 4 sequences of 32 tokens on
 * gpt2-tok (unprocessed), one sequence a pass; trained once per JVM and shared by the test classes.
 */
public final class LensReference {
    /** gpt2-tok as the lens commands load it. */
    public static final ModelSpec MODEL = new ModelSpec(Fixtures.model("gpt2-tok").toString(), false);
    private static Map<String, float[]> trained;

    private LensReference() {}

    /** The training data: EnglishText cut into sequences of 32 tokens. */
    public static TokenChunks data() {
        return TokenChunks.of(EnglishText.documents(12_000, 1), ExecutorModels.get(MODEL).tokenizer(), 32);
    }

    /** The options: 20 steps, 128 tokens a step, one sequence a pass. */
    public static LensTrainingOptions.Builder options() {
        return LensTrainingOptions.builder().numSteps(20).tokensPerStep(128).maxSeqLen(32).perGpuBatchSize(1)
                .warmupSteps(2).repeatData(true);
    }

    /** The lens's parameters by name after 20 one-process steps. */
    public static synchronized Map<String, float[]> twentySteps() {
        if (trained == null) {
            HookedTransformer model = ExecutorModels.get(MODEL);
            try (TunedLens lens = TunedLens.create(model)) {
                TunedLensTrainer.train(model, lens, data(), options().build(), null);
                trained = new LinkedHashMap<>();
                lens.stateDict().forEach((name, value) -> trained.put(name, value.toFloatArray()));
            }
        }
        return trained;
    }

    /** The largest difference between {@code lens}'s parameters and {@code reference}'s. */
    public static double largestDifference(Map<String, float[]> reference, TunedLens lens) {
        double worst = 0;
        for (Map.Entry<String, NDArray> entry : lens.stateDict().entrySet()) {
            float[] x = reference.get(entry.getKey());
            float[] y = entry.getValue().toFloatArray();
            for (int i = 0; i < x.length; i++) {
                worst = Math.max(worst, Math.abs(x[i] - y[i]));
            }
        }
        return worst;
    }

    /** A lens's parameters by name. */
    public static Map<String, float[]> values(TunedLens lens) {
        Map<String, float[]> out = new LinkedHashMap<>();
        lens.stateDict().forEach((name, value) -> out.put(name, value.toFloatArray()));
        return out;
    }
}
