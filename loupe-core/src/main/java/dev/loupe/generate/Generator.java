package dev.loupe.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.analysis.utils.Sampling;
import dev.loupe.model.ForwardOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.model.KeyValueCache;
import dev.loupe.tokenize.PaddingSide;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.tokenize.TokenBatch;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * TransformerLens's {@code generate}: extends each sequence one token at a time, greedily or by
 * sampling, reusing earlier positions' keys and values unless asked not to. A sequence that emits an
 * end-of-sequence token keeps emitting it (TransformerLens's padding), and generation stops early once
 * every sequence has. Hooks attached with {@code model.hooks(...)} fire at every step.
 */
public final class Generator {
    private Generator() {}

    /** Called after every step with the token each sequence got. */
    @FunctionalInterface
    public interface StepListener {
        void onStep(int step, long[] tokens);
    }

    /**
     * Generates after each of {@code prompts} (left-padded into one batch, as generation needs every
     * prompt to end at the last position) and returns each prompt's new tokens, padding removed.
     */
    public static List<long[]> generate(HookedTransformer model, List<String> prompts, GenerateOptions options) {
        TokenBatch batch = model.toTokens(prompts, TextOptions.defaults().withPaddingSide(PaddingSide.LEFT));
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray mask = batch.isPadded() ? batch.maskArray(manager) : null;
            long[] out = generate(model, batch.idsArray(manager), mask, options, null).toLongArray();
            int width = out.length / prompts.size();
            List<long[]> generated = new ArrayList<>();
            for (int b = 0; b < prompts.size(); b++) {
                generated.add(java.util.Arrays.copyOfRange(out, b * width + batch.width(), (b + 1) * width));
            }
            return generated;
        }
    }

    /**
     * @param tokens int64 [batch, pos], left-padded when the prompts differ in length
     * @param attentionMask [batch, pos] of 1 for tokens and 0 for padding, or null
     * @param listener told of every step's tokens (for streaming), or null
     * @return the prompts followed by the new tokens, int64 [batch, pos + generated], owned by the
     *     tokens' manager
     */
    public static NDArray generate(HookedTransformer model, NDArray tokens, NDArray attentionMask, GenerateOptions options,
            StepListener listener) {
        NDManager caller = tokens.getManager();
        int batch = (int) tokens.getShape().get(0);
        int prompt = (int) tokens.getShape().get(1);
        Set<Long> eos = eosIds(model, options);
        long pad = eos.isEmpty() ? 0 : eos.iterator().next();
        List<long[]> sequence = new ArrayList<>();
        long[] flat = tokens.toType(DataType.INT64, false).toLongArray();
        for (int b = 0; b < batch; b++) {
            sequence.add(java.util.Arrays.copyOfRange(flat, b * prompt, (b + 1) * prompt));
        }
        long[] promptMask = attentionMask == null ? null : attentionMask.toType(DataType.INT64, false).toLongArray();
        boolean[] finished = new boolean[batch];
        Random random = new Random(options.seed());
        Sampling.Options sampling = options.doSample()
                ? Sampling.Options.defaults().withTopK(options.topK()).withTopP(options.topP())
                        .withTemperature(options.temperature()).withFreqPenalty(options.freqPenalty())
                : Sampling.Options.greedy();
        int generated = 0;
        try (NDManager work = caller.newSubManager();
             KeyValueCache cache = options.usePastKvCache() ? new KeyValueCache(model.config(), batch) : null) {
            for (int step = 0; step < options.maxNewTokens(); step++) {
                try (NDManager stepManager = work.newSubManager()) {
                    boolean incremental = cache != null && step > 0;
                    int length = prompt + step;
                    int from = incremental ? length - 1 : 0;
                    NDArray input = stepManager.create(columns(sequence, from, length), new Shape(batch, length - from));
                    long[] mask = promptMask == null ? null : maskColumns(promptMask, batch, prompt, from, length);
                    ForwardOptions forward = ForwardOptions.builder()
                            .attentionMask(mask == null ? null : stepManager.create(mask, new Shape(batch, length - from)))
                            .pastKvCache(cache).build();
                    NDArray logits = model.forward(input, forward).logits();
                    NDArray last = logits.get(":, -1, :");
                    NDArray seen = stepManager.create(columns(sequence, 0, length), new Shape(batch, length));
                    long[] next = Sampling.sampleLogits(last, sampling, seen, random, stepManager).toLongArray();
                    for (int b = 0; b < batch; b++) {
                        if (finished[b]) {
                            next[b] = pad;
                        } else if (options.stopAtEos() && eos.contains(next[b])) {
                            finished[b] = true;
                        }
                        long[] row = java.util.Arrays.copyOf(sequence.get(b), length + 1);
                        row[length] = next[b];
                        sequence.set(b, row);
                    }
                    generated++;
                    if (listener != null) {
                        listener.onStep(step, next);
                    }
                }
                if (options.stopAtEos() && allTrue(finished)) {
                    break;
                }
            }
        }
        return caller.create(columns(sequence, 0, prompt + generated), new Shape(batch, prompt + generated));
    }

    private static Set<Long> eosIds(HookedTransformer model, GenerateOptions options) {
        Set<Long> ids = new HashSet<>(options.eosTokenIds());
        if (ids.isEmpty()) {
            try {
                ids.add(model.tokenizer().eosId());
            } catch (LoupeException noTokenizer) {
                if (options.stopAtEos()) {
                    throw new LoupeException("stopAtEos needs an end-of-sequence id: this model has no tokenizer, so give"
                            + " GenerateOptions.withEosTokenIds(...) or turn stopAtEos off");
                }
            }
        }
        return ids;
    }

    /** Columns [from, to) of every row, flattened. */
    private static long[] columns(List<long[]> rows, int from, int to) {
        long[] flat = new long[rows.size() * (to - from)];
        for (int b = 0; b < rows.size(); b++) {
            System.arraycopy(rows.get(b), from, flat, b * (to - from), to - from);
        }
        return flat;
    }

    /** The attention mask of columns [from, to): the prompt's, then 1 for every generated token. */
    private static long[] maskColumns(long[] promptMask, int batch, int prompt, int from, int to) {
        long[] mask = new long[batch * (to - from)];
        for (int b = 0; b < batch; b++) {
            for (int c = from; c < to; c++) {
                mask[b * (to - from) + c - from] = c < prompt ? promptMask[b * prompt + c] : 1;
            }
        }
        return mask;
    }

    private static boolean allTrue(boolean[] values) {
        for (boolean value : values) {
            if (!value) {
                return false;
            }
        }
        return true;
    }
}
