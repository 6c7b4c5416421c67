package dev.loupe.train.ioi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.model.HookedTransformer;
import java.util.List;
import java.util.Locale;

/**
 * How well a model does the IOI task on some prompts: the logit difference (IO − S) at the last
 * position, the IOI paper's metric, averaged; and how often the IO's logit beats the subject's.
 *
 * @param logitDiff mean logit(IO) − logit(S), in nats
 * @param accuracy the fraction of prompts whose IO logit is above the S logit
 * @param prompts how many prompts
 */
public record IoiScore(double logitDiff, double accuracy, int prompts) {
    private static final int CHUNK = 256;

    /** Runs {@code model} on {@code prompts} (in padded batches) and scores it. */
    public static IoiScore of(HookedTransformer model, List<IoiPrompt> prompts) {
        float[] diffs = logitDiffs(model, prompts);
        double sum = 0;
        int right = 0;
        for (float d : diffs) {
            sum += d;
            right += d > 0 ? 1 : 0;
        }
        return new IoiScore(sum / diffs.length, (double) right / diffs.length, diffs.length);
    }

    /** Each prompt's logit(IO) − logit(S) at its last position [prompts]. */
    public static float[] logitDiffs(HookedTransformer model, List<IoiPrompt> prompts) {
        float[] diffs = new float[prompts.size()];
        int width = prompts.stream().mapToInt(p -> p.tokens().length).max().orElse(1);
        int vocab = model.config().dVocabOut();
        for (int from = 0; from < prompts.size(); from += CHUNK) {
            IoiBatch batch = IoiBatch.of(prompts.subList(from, Math.min(prompts.size(), from + CHUNK)), width);
            try (NDManager manager = NDManager.newBaseManager()) {
                NDArray logits = model.forward(batch.tokens(manager));
                float[] values = logits.toFloatArray(); // [batch, width, d_vocab]
                for (int b = 0; b < batch.size(); b++) {
                    int at = (b * width + batch.ends()[b]) * vocab;
                    diffs[from + b] = values[at + (int) batch.answers()[b]] - values[at + (int) batch.subjects()[b]];
                }
            }
        }
        return diffs;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "logit diff %.3f, accuracy %.1f %% (%d prompts)", logitDiff, 100 * accuracy,
                prompts);
    }
}
