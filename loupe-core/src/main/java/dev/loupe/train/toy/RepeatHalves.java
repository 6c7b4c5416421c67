package dev.loupe.train.toy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import java.util.List;

/**
 * A model's mean next-token loss on each half of {@code BOS, s_1..s_n, s_1..s_n}, split as
 * TransformerLens's induction tutorial splits it: the per-token loss [2n] is cut at n, so the first
 * half predicts s_1..s_n (unpredictable: about ln(d_vocab - 1) for a model that learned the task)
 * and the repeated half predicts the second copy, which an induction circuit predicts from the first.
 *
 * @param firstHalf mean loss over the first n predictions, in nats
 * @param repeatedHalf mean loss over the last n predictions, in nats
 */
public record RepeatHalves(double firstHalf, double repeatedHalf) {

    /** {@code repeatedHalf / firstHalf}. */
    public double ratio() {
        return repeatedHalf / firstHalf;
    }

    /**
     * Runs {@code model} on sequences [batch × (2n + 1)] (flattened, each {@code BOS} plus a segment of n
     * tokens twice), with {@code hooks} attached for the run, and averages each half over the batch.
     */
    public static RepeatHalves measure(HookedTransformer model, long[] sequences, int batch, List<HookSpec> hooks) {
        if (batch < 1 || sequences.length % batch != 0 || (sequences.length / batch) % 2 != 1) {
            throw new LoupeException("Repeat halves need sequences of 2n + 1 tokens; got " + sequences.length
                    + " ids for a batch of " + batch);
        }
        int pos = sequences.length / batch;
        int n = (pos - 1) / 2;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = manager.create(sequences, new Shape(batch, pos));
            ForwardOptions options = ForwardOptions.builder().returnType(ReturnType.LOSS).lossPerToken(true).build();
            try (ModelOutput output = model.runWithHooks(tokens, options, hooks)) {
                float[] perToken = output.loss().toFloatArray(); // [batch, 2n]
                double first = 0;
                double second = 0;
                for (int b = 0; b < batch; b++) {
                    for (int i = 0; i < 2 * n; i++) {
                        double loss = perToken[b * 2 * n + i];
                        if (i < n) {
                            first += loss;
                        } else {
                            second += loss;
                        }
                    }
                }
                return new RepeatHalves(first / ((double) batch * n), second / ((double) batch * n));
            }
        }
    }
}
