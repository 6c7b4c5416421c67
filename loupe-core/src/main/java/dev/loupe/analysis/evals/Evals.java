package dev.loupe.analysis.evals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.model.HookedTransformer;
import dev.loupe.model.Losses;
import java.util.Random;

/**
 * Quick checks of a model, after TransformerLens's {@code evals}: the loss on a fixed paragraph,
 * and the loss on repeated random tokens (which only a model with induction heads gets low).
 * The IOI evaluation is {@link Ioi}.
 */
public final class Evals {
    /**
     * The paragraph {@link #sanityCheck} scores: plain English prose (written for Loupe, not
     * TransformerLens's paragraph), so a trained model should find it unsurprising.
     */
    public static final String SANITY_TEXT = "Every morning the baker opened the shop before sunrise. She lit the ovens,"
            + " mixed the dough and set out the bread on wooden shelves. By the time the first customers arrived,"
            + " the whole street smelled of warm loaves, and a small queue had formed outside the door.";

    private Evals() {}

    /**
     * The mean next-token loss of {@link #SANITY_TEXT} (with the model's default BOS). As a rough
     * guide from TransformerLens: below 5 the model is probably fine, above 7 something is wrong.
     */
    public static float sanityCheck(HookedTransformer model) {
        try (NDManager manager = NDManager.newBaseManager()) {
            return model.loss(SANITY_TEXT, manager).getFloat();
        }
    }

    /** {@link #inductionLoss(HookedTransformer, int, int, Boolean, long)} with the model's default BOS. */
    public static float inductionLoss(HookedTransformer model, int batchSize, int subseqLen, long seed) {
        return inductionLoss(model, batchSize, subseqLen, null, seed);
    }

    /**
     * TransformerLens's {@code induction_loss}: {@code batchSize} random sequences of
     * {@code subseqLen} tokens, each repeated twice, and the mean per-token loss over the second
     * copy (loss positions {@code subseqLen + 1} onwards, i.e. predicting tokens from position
     * {@code subseqLen + 2}).
     *
     * <p>Token ids are uniform in [100, 20000) as in TransformerLens, the upper end lowered to the
     * vocabulary size for small vocabularies (and the lower end to 0 when the vocabulary has at
     * most 100 tokens). With BOS, position 0 is <em>overwritten</em> by the BOS token, as
     * TransformerLens does, so the sequences stay 2 × subseqLen long.
     *
     * @param prependBos overrides the model's {@code default_prepend_bos}; null to keep it
     * @param seed seeds the random tokens, so the same seed gives the same batch
     * @return the mean loss in nats
     */
    public static float inductionLoss(HookedTransformer model, int batchSize, int subseqLen, Boolean prependBos,
            long seed) {
        TransformerConfig cfg = model.config();
        if (batchSize < 1 || subseqLen < 2) {
            throw new LoupeException("inductionLoss needs batchSize ≥ 1 and subseqLen ≥ 2, got " + batchSize + " and "
                    + subseqLen);
        }
        if (2L * subseqLen > cfg.nCtx()) {
            throw new LoupeException("Two copies of " + subseqLen + " tokens do not fit the model's context of "
                    + cfg.nCtx());
        }
        int high = Math.min(20_000, cfg.dVocab());
        int low = high > 100 ? 100 : 0;
        boolean bos = prependBos != null ? prependBos : cfg.defaultPrependBos();
        long bosId = bos ? model.tokenizer().bosId() : -1;
        Random random = new Random(seed);
        int width = 2 * subseqLen;
        long[] tokens = new long[batchSize * width];
        for (int b = 0; b < batchSize; b++) {
            for (int p = 0; p < subseqLen; p++) {
                long id = low + random.nextInt(high - low);
                tokens[b * width + p] = id;
                tokens[b * width + subseqLen + p] = id;
            }
            if (bos) {
                tokens[b * width] = bosId;
            }
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray ids = manager.create(tokens, new Shape(batchSize, width));
            NDArray logits = model.forward(ids);
            NDArray perToken = Losses.crossEntropy(logits, ids, null, true); // [batch, 2 p - 1]
            return perToken.get(":, " + (subseqLen + 1) + ":").mean().getFloat();
        }
    }
}
