package dev.loupe.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.lens.PredictionTrajectory;
import dev.loupe.lens.TunedLens;
import dev.loupe.lens.data.EnglishText;
import dev.loupe.lens.train.LensTrainingOptions;
import dev.loupe.lens.train.LensTrainingResult;
import dev.loupe.lens.train.TunedLensTrainer;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.TokenChunks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Trains a tuned lens for a few steps on English that Loupe generates itself, saves it, loads it back and prints
 * the prediction trajectory of a prompt through it. The model is GPT-2's vocabulary with random weights
 * ({@code testdata/models/gpt2-tok}), so the predictions are not meaningful; the steps are those for a real model.
 */
public final class TrainTunedLens {
    private TrainTunedLens() {}

    private static final int SEQ = 64;

    public static void main(String[] args) throws Exception {
        Path out = Files.createTempDirectory("loupe-example-lens");
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Path.of("testdata/models/gpt2-tok"));
             NDManager manager = NDManager.newBaseManager()) {
            TokenChunks data = TokenChunks.of(EnglishText.documents(40_000, 1), model.tokenizer(), SEQ);
            LensTrainingOptions options = LensTrainingOptions.builder()
                    .numSteps(20).tokensPerStep(2 * SEQ).maxSeqLen(SEQ).perGpuBatchSize(2).build();
            try (TunedLens lens = TunedLens.create(model)) {
                LensTrainingResult result = TunedLensTrainer.train(model, lens, data, options, null);
                double[] first = result.layerLosses().get(0);
                double[] last = result.layerLosses().get(result.layerLosses().size() - 1);
                for (int layer = 0; layer < first.length; layer++) {
                    System.out.printf("layer %d: KL %.4f at step 1, %.4f at step %d%n", layer, first[layer], last[layer],
                            result.layerLosses().size());
                }
                lens.save(out);
            }
            try (TunedLens lens = TunedLens.load(out, model)) {
                NDArray tokens = model.toTokens("The quick brown fox", manager);  // [1, 5]
                System.out.print(PredictionTrajectory.compute(lens, model, tokens, null, 1, List.of()).toTable());
            }
        }
    }
}
