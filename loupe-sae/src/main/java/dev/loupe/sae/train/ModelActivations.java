package dev.loupe.sae.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.tokenize.TokenChunks;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Activations harvested from a model over a token set [n, ctx] (pre-tokenised, used as they are: no BOS is
 * added), as SAELens's {@code ActivationsStore} harvests them: {@code storeBatchSizePrompts} sequences per
 * forward pass, stopped after the hook's block, every position kept, flattened to [prompts·ctx, d_in] (or a text
 * corpus, {@link #fromText}). The
 * sequences are read in order and the set starts again at its end. The model must not change while it is used.
 */
public final class ModelActivations implements ActivationSource {
    private static final Pattern LAYER = Pattern.compile("^blocks\\.(\\d+)\\.");

    private final HookedTransformer model;
    private final NDArray tokens;
    private final String hookName;
    private final int dIn;
    private final int promptsPerPass;
    private final ForwardOptions forward;
    private long next;

    /**
     * @param tokens [n, ctx] integer token ids; copied, so the caller may close them
     * @param hookName the hook point to read
     * @param dIn the activation width the SAE expects (checked at the first pass)
     * @param promptsPerPass SAELens's {@code store_batch_size_prompts}
     */
    public ModelActivations(HookedTransformer model, NDArray tokens, String hookName, int dIn, int promptsPerPass,
            NDManager manager) {
        if (tokens.getShape().dimension() != 2 || tokens.size() == 0) {
            throw new LoupeException("Training tokens must be [n, ctx] token ids, got shape " + tokens.getShape());
        }
        if (tokens.getDataType().isFloating()) {
            throw new LoupeException("Training tokens must be integer ids, got " + tokens.getDataType());
        }
        if (!model.hookNames().contains(hookName)) {
            throw new LoupeException("The model has no hook point " + hookName + "; `loupe hooks` lists them");
        }
        this.model = model;
        this.tokens = tokens.toType(DataType.INT64, true);
        this.tokens.attach(manager);
        this.hookName = hookName;
        this.dIn = dIn;
        this.promptsPerPass = promptsPerPass;
        Matcher m = LAYER.matcher(hookName);
        ForwardOptions.Builder options = ForwardOptions.builder();
        if (m.find()) {
            options.stopAtLayer(Integer.parseInt(m.group(1)) + 1); // nothing after the hook's block is needed
        }
        this.forward = options.build();
    }

    /**
     * Activations over a text corpus cut as {@link TokenChunks} cuts it (documents joined with EOS, sequences of
     * one length, the short last one of each group dropped): the chunks become the token set [n, ctx].
     */
    public static ModelActivations fromText(HookedTransformer model, TokenChunks chunks, String hookName, int dIn,
            int promptsPerPass, NDManager manager) {
        try (NDManager scratch = manager.newSubManager()) {
            NDArray tokens = scratch.create(chunks.batch(0, chunks.chunks().size()),
                    new Shape(chunks.chunks().size(), chunks.chunkSize()));
            return new ModelActivations(model, tokens, hookName, dIn, promptsPerPass, manager);
        }
    }

    /** The number of sequences and their length, [n, ctx]. */
    public long[] shape() {
        return tokens.getShape().getShape();
    }

    @Override
    public int dIn() {
        return dIn;
    }

    @Override
    public NDArray next(NDManager manager) {
        long n = tokens.getShape().get(0);
        long end = Math.min(n, next + promptsPerPass);
        try (NDManager scratch = manager.newSubManager()) {
            NDArray batch = tokens.get(new NDIndex(next + ":" + end));
            batch.attach(scratch);
            NDArray acts;
            try (ActivationCache cache = model.runWithCache(batch,
                    CacheOptions.filtered(hookName::equals).withForward(forward))) {
                NDArray a = cache.get(hookName);
                long width = a.size() / (a.getShape().get(0) * a.getShape().get(1));
                if (width != dIn) {
                    throw new LoupeException("The activations of " + hookName + " are " + width + " wide (shape "
                            + a.getShape() + ") but the SAE's d_in is " + dIn + "; set d_in to " + width);
                }
                acts = a.reshape(-1, dIn).toType(DataType.FLOAT32, true);
                acts.attach(manager);
            }
            next = end % n;
            return acts;
        }
    }

    @Override
    public long position() {
        return next;
    }

    @Override
    public void seek(long position) {
        if (position < 0 || position >= tokens.getShape().get(0)) {
            throw new LoupeException("A saved position " + position + " is outside the " + tokens.getShape().get(0)
                    + " training sequences; the checkpoint was made on other tokens");
        }
        next = position;
    }
}
