package dev.loupe.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.KeyValueCache;
import dev.loupe.stop.StopSignal;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Random;
import java.util.Set;

/**
 * TransformerLens's {@code generate} on token ids: extends each sequence one token at a time, greedily
 * or by sampling, reusing earlier positions' keys and values unless asked not to. A sequence that emits
 * an end-of-sequence token keeps emitting it (TransformerLens's padding), and generation stops early
 * once every sequence has. Hooks attached with {@code model.hooks(...)} fire at every step. Text
 * prompts go through {@link TextGenerator}. The prompt and the new tokens must fit the model's
 * context ({@link #checkContext}); a requested {@link StopSignal} stops generation between tokens.
 */
public final class Generator {
    private Generator() {}

    /** Called after every step with the token each sequence got. */
    @FunctionalInterface
    public interface StepListener {
        void onStep(int step, long[] tokens);
    }

    /**
     * The generated tokens and the activations of the whole generated sequence.
     *
     * @param tokens the prompts followed by the new tokens, int64 [batch, pos + generated]
     * @param cache every hook's activation over all of {@code tokens}, as one forward pass over them
     *     computes it (the model is causal, so these are the values the steps saw); owns its memory
     */
    public record Generation(NDArray tokens, ActivationCache cache) implements AutoCloseable {
        @Override
        public void close() {
            cache.close();
        }
    }

    /**
     * @param tokens int64 [batch, pos], left-padded when the prompts differ in length
     * @param attentionMask [batch, pos] of 1 for tokens and 0 for padding, or null
     * @param listener told of every step's tokens (for streaming), or null
     * @return the prompts followed by the new tokens, int64 [batch, pos + generated], owned by the
     *     tokens' manager
     * @throws LoupeException if the prompt and {@code maxNewTokens} do not fit the model's context
     *     ({@link #checkContext}), before anything runs
     * @throws dev.loupe.stop.StoppedException when the thread's {@link StopSignal} is requested, before
     *     the next token
     */
    public static NDArray generate(HookedTransformer model, NDArray tokens, NDArray attentionMask, GenerateOptions options,
            StepListener listener) {
        return generate(model, tokens, attentionMask, options, listener, NextTokenLogits.MODEL);
    }

    /**
     * As {@link #generate(HookedTransformer, NDArray, NDArray, GenerateOptions, StepListener)}, with each
     * next token chosen (greedily or by sampling, as {@code options} say) from the logits {@code readout}
     * gives, e.g. a lens on an intermediate layer.
     */
    public static NDArray generate(HookedTransformer model, NDArray tokens, NDArray attentionMask, GenerateOptions options,
            StepListener listener, NextTokenLogits readout) {
        checkContext(model, tokens.getShape().get(1), options.maxNewTokens());
        long[][] rows = new Loop(model, tokens, attentionMask, options, readout).run(listener);
        return tokens.getManager().create(flatten(rows), new Shape(rows.length, rows[0].length));
    }

    /**
     * Refuses a generation that would not fit the model's context: the prompt's {@code promptLength}
     * positions and {@code maxNewTokens} new ones must together be at most {@code n_ctx} (checked
     * before any memory is set aside for them).
     *
     * @throws LoupeException naming both numbers and how many new tokens fit
     */
    public static void checkContext(HookedTransformer model, long promptLength, long maxNewTokens) {
        int nCtx = model.config().nCtx();
        if (promptLength + maxNewTokens > nCtx) {
            throw new LoupeException(promptLength > nCtx
                    ? "The prompt has " + promptLength + " positions, more than the model's context (n_ctx " + nCtx
                            + "); shorten it"
                    : "The prompt's " + promptLength + " positions and maxNewTokens " + maxNewTokens + " make "
                            + (promptLength + maxNewTokens) + ", more than the model's context (n_ctx " + nCtx
                            + "); at most " + (nCtx - promptLength) + " new tokens fit after this prompt");
        }
    }

    /**
     * As {@link #generate}, and also returns the activation cache of the whole generated sequence
     * (prompt and new tokens), which TransformerLens's {@code generate} cannot give. The hooks in
     * scope fire in that last pass too; {@code cacheOptions} chooses which hooks are kept.
     */
    public static Generation generateWithCache(HookedTransformer model, NDArray tokens, NDArray attentionMask,
            GenerateOptions options, CacheOptions cacheOptions, StepListener listener) {
        NDArray all = generate(model, tokens, attentionMask, options, listener);
        int generated = (int) (all.getShape().get(1) - tokens.getShape().get(1));
        StopSignal.current().check(() -> "after all " + generated + " new tokens, before the pass that caches them");
        NDArray mask = attentionMask == null ? null : extendMask(attentionMask, (int) all.getShape().get(1));
        ActivationCache cache = model.runWithCache(all, cacheOptions.withForward(
                cacheOptions.forward().toBuilder().attentionMask(mask).build()));
        return new Generation(all, cache);
    }

    /**
     * The attention mask of a generation's output: the prompt's mask [batch, pos] followed by 1 for
     * every generated column, int64 [batch, width], owned by the mask's manager.
     */
    public static NDArray extendMask(NDArray promptMask, int width) {
        long[] prompt = promptMask.toType(DataType.INT64, false).toLongArray();
        int batch = (int) promptMask.getShape().get(0);
        int promptWidth = (int) promptMask.getShape().get(1);
        long[] mask = new long[batch * width];
        Arrays.fill(mask, 1);
        for (int b = 0; b < batch; b++) {
            System.arraycopy(prompt, b * promptWidth, mask, b * width, promptWidth);
        }
        return promptMask.getManager().create(mask, new Shape(batch, width));
    }

    /** One generation's state: every row's tokens so far and which rows have finished. */
    private static final class Loop {
        private final HookedTransformer model;
        private final GenerateOptions options;
        private final NDManager caller;
        private final int batch;
        private final int prompt;
        private final long[] promptMask;
        private final long[][] rows;
        private final boolean[] finished;
        private final Set<Long> eos;
        private final long pad;
        private final Sampling.Options sampling;
        private final Random random;
        private final NextTokenLogits readout;
        private int length;

        Loop(HookedTransformer model, NDArray tokens, NDArray attentionMask, GenerateOptions options,
                NextTokenLogits readout) {
            this.model = model;
            this.readout = readout;
            this.options = options;
            caller = tokens.getManager();
            batch = (int) tokens.getShape().get(0);
            prompt = (int) tokens.getShape().get(1);
            length = prompt;
            promptMask = attentionMask == null ? null : attentionMask.toType(DataType.INT64, false).toLongArray();
            long[] flat = tokens.toType(DataType.INT64, false).toLongArray();
            rows = new long[batch][prompt + options.maxNewTokens()];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(flat, b * prompt, rows[b], 0, prompt);
            }
            finished = new boolean[batch];
            eos = eosIds(model, options);
            pad = eos.isEmpty() ? 0 : eos.iterator().next();
            sampling = options.doSample()
                    ? Sampling.Options.defaults().withTopK(options.topK()).withTopP(options.topP())
                            .withTemperature(options.temperature()).withFreqPenalty(options.freqPenalty())
                    : Sampling.Options.greedy();
            random = new Random(options.seed());
        }

        long[][] run(StepListener listener) {
            StopSignal stop = StopSignal.current();
            try (NDManager work = caller.newSubManager();
                 KeyValueCache cache = options.usePastKvCache() ? new KeyValueCache(model.config(), batch) : null) {
                for (int step = 0; step < options.maxNewTokens() && !(options.stopAtEos() && allFinished()); step++) {
                    // The safe point: between tokens, before the next forward pass.
                    int done = step;
                    stop.check(() -> "after " + done + " of " + options.maxNewTokens() + " new tokens");
                    try (NDManager stepManager = work.newSubManager()) {
                        // With the cache, only the newest token runs; its keys and values join the cache.
                        int from = cache != null && step > 0 ? length - 1 : 0;
                        long[] next = nextTokens(stepManager, from, cache);
                        append(next);
                        if (listener != null) {
                            listener.onStep(step, next);
                        }
                    }
                }
            }
            long[][] out = new long[batch][];
            for (int b = 0; b < batch; b++) {
                out[b] = Arrays.copyOf(rows[b], length);
            }
            return out;
        }

        private long[] nextTokens(NDManager stepManager, int from, KeyValueCache cache) {
            NDArray input = stepManager.create(flatten(rows, from, length), new Shape(batch, length - from));
            NDArray mask = promptMask == null ? null
                    : stepManager.create(maskColumns(from), new Shape(batch, length - from));
            ForwardOptions forward = ForwardOptions.builder().attentionMask(mask).pastKvCache(cache).build();
            NDArray last = readout.lastLogits(model, input, forward);
            if (!options.doSample()) {
                // TransformerLens's greedy step is the argmax (first maximum), taken where the logits are.
                return last.argMax(-1).toLongArray();
            }
            NDArray seen = stepManager.create(flatten(rows, 0, length), new Shape(batch, length));
            return Sampling.sampleLogits(last, sampling, seen, random, stepManager).toLongArray();
        }

        private void append(long[] next) {
            for (int b = 0; b < batch; b++) {
                if (finished[b]) {
                    next[b] = pad;
                } else if (options.stopAtEos() && eos.contains(next[b])) {
                    finished[b] = true;
                }
                rows[b][length] = next[b];
            }
            length++;
        }

        /** The attention mask of columns [from, length): the prompt's, then 1 for every generated token. */
        private long[] maskColumns(int from) {
            long[] mask = new long[batch * (length - from)];
            for (int b = 0; b < batch; b++) {
                for (int c = from; c < length; c++) {
                    mask[b * (length - from) + c - from] = c < prompt ? promptMask[b * prompt + c] : 1;
                }
            }
            return mask;
        }

        private boolean allFinished() {
            for (boolean done : finished) {
                if (!done) {
                    return false;
                }
            }
            return true;
        }
    }

    private static Set<Long> eosIds(HookedTransformer model, GenerateOptions options) {
        Set<Long> ids = new LinkedHashSet<>(options.eosTokenIds());
        if (ids.isEmpty()) {
            if (model.hasTokenizer()) {
                ids.add(model.tokenizer().eosId());
            } else if (options.stopAtEos()) {
                throw new LoupeException("stopAtEos needs an end-of-sequence id: this model has no tokenizer, so give"
                        + " GenerateOptions.withEosTokenIds(...) or turn stopAtEos off");
            }
        }
        return ids;
    }

    private static long[] flatten(long[][] rows) {
        return flatten(rows, 0, rows[0].length);
    }

    /** Columns [from, to) of every row, flattened. */
    private static long[] flatten(long[][] rows, int from, int to) {
        long[] flat = new long[rows.length * (to - from)];
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(rows[b], from, flat, b * (to - from), to - from);
        }
        return flat;
    }
}
