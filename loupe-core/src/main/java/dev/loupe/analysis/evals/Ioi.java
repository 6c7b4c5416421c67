package dev.loupe.analysis.evals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import dev.loupe.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * TransformerLens's {@code ioi_eval}: on each prompt of an {@link IoiDataset}, the logit of the
 * indirect object's name minus the subject's, at the position that predicts the name.
 */
public final class Ioi {
    private Ioi() {}

    /**
     * The averages over the dataset.
     *
     * @param logitDifference mean of logit(IO) − logit(S)
     * @param accuracy fraction of prompts where that difference is positive
     * @param perPrompt each prompt's difference, in dataset order
     */
    public record Result(double logitDifference, double accuracy, float[] perPrompt) {}

    /**
     * Scores every prompt. Prompts are tokenized without special tokens (BOS put in front if the
     * dataset says so), right-padded with 0 in batches of {@code batchSize}; causal attention makes
     * the padding irrelevant to the positions read. Where the two names share leading tokens, the
     * first token where they differ is compared, at the position just before it.
     */
    public static Result ioiEval(HookedTransformer model, IoiDataset dataset, int batchSize) {
        if (dataset.size() == 0) {
            throw new LoupeException("The IOI dataset is empty");
        }
        Tokenizer tokenizer = model.tokenizer();
        List<IoiDataset.Sample> samples = dataset.samples();
        float[] diffs = new float[samples.size()];
        int vocab = model.config().dVocabOut();
        for (int start = 0; start < samples.size(); start += batchSize) {
            int end = Math.min(samples.size(), start + batchSize);
            List<long[]> prompts = new ArrayList<>();
            int width = 0;
            for (int i = start; i < end; i++) {
                long[] ids = tokenizer.encode(samples.get(i).text(), false);
                if (dataset.prependBos()) {
                    long[] withBos = new long[ids.length + 1];
                    withBos[0] = tokenizer.bosId();
                    System.arraycopy(ids, 0, withBos, 1, ids.length);
                    ids = withBos;
                }
                prompts.add(ids);
                width = Math.max(width, ids.length);
            }
            long[] flat = new long[prompts.size() * width]; // zero padding, as pad_sequence does
            for (int i = 0; i < prompts.size(); i++) {
                System.arraycopy(prompts.get(i), 0, flat, i * width, prompts.get(i).length);
            }
            try (NDManager manager = NDManager.newBaseManager()) {
                NDArray logits = model.forward(manager.create(flat, new Shape(prompts.size(), width)));
                float[] all = logits.toFloatArray(); // [batch, width, vocab]
                for (int i = 0; i < prompts.size(); i++) {
                    IoiDataset.Sample sample = samples.get(start + i);
                    long[] io = tokenizer.encode(sample.io(), false);
                    long[] s = tokenizer.encode(sample.s(), false);
                    int prefixLength = prompts.get(i).length - io.length;
                    int common = Math.min(io.length, s.length);
                    int first = 0;
                    while (first < common && io[first] == s[first]) {
                        first++;
                    }
                    if (first == common) {
                        throw new LoupeException("The names" + sample.io() + " and" + sample.s()
                                + " tokenize with one as a prefix of the other; they cannot be told apart");
                    }
                    int position = prefixLength + first - 1;
                    int base = (i * width + position) * vocab;
                    diffs[start + i] = all[base + (int) io[first]] - all[base + (int) s[first]];
                }
            }
        }
        double total = 0;
        int correct = 0;
        for (float d : diffs) {
            total += d;
            correct += d > 0 ? 1 : 0;
        }
        return new Result(total / diffs.length, correct / (double) diffs.length, diffs);
    }
}
