package dev.loupe.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.analysis.patching.PatchMetric;
import dev.loupe.analysis.patching.Patching;
import dev.loupe.cache.ActivationCache;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;

/**
 * Activation patching on the induction model: the corrupted run has another first half, so it cannot predict the
 * repeated second half; patching the clean residual stream back in, layer by layer and position by position
 * ({@code get_act_patch_resid_pre}), shows where the information that restores the prediction lives.
 */
public final class PatchingSweep {
    private PatchingSweep() {}

    private static final int HALF = 8;

    public static void main(String[] args) {
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Path.of(RepeatedTokens.INDUCTION_MODEL));
             NDManager manager = NDManager.newBaseManager()) {
            int vocab = model.config().dVocab();
            NDArray clean = RepeatedTokens.of(manager, HALF, vocab, 7, null);  // [1, 17]
            long[] otherHalf = RepeatedTokens.of(manager, HALF, vocab, 8, null).get("0, 1:" + (1 + HALF)).toLongArray();
            NDArray corrupted = RepeatedTokens.of(manager, HALF, vocab, 7, otherHalf);
            // The log-probability of the right next token at the second half's fourth position.
            int position = 1 + HALF + 3;
            long answer = clean.getLong(0, position + 1);
            PatchMetric metric = logits -> logits.get(new NDIndex("0, {}", position)).logSoftmax(-1).getFloat(answer);
            try (ActivationCache cleanCache = model.runWithCache(clean)) {
                System.out.printf("log p(answer): clean %.3f, corrupted %.3f%n",
                        metric.apply(model.forward(clean)), metric.apply(model.forward(corrupted)));
                NDArray patched = Patching.residPre(model, corrupted, cleanCache, metric);  // [n_layers, pos]
                System.out.println("patching resid_pre (rows: layers; columns: positions 0.." + (2 * HALF) + ")");
                for (int layer = 0; layer < patched.getShape().get(0); layer++) {
                    StringBuilder row = new StringBuilder("L" + layer);
                    for (float value : patched.get(layer).toFloatArray()) {
                        row.append(String.format(" %6.2f", value));
                    }
                    System.out.println(row);
                }
            }
        }
    }
}
