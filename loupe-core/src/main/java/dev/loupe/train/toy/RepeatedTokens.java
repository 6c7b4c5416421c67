package dev.loupe.train.toy;

import dev.loupe.LoupeException;
import dev.loupe.train.TrainingRandom;

/**
 * The toy task: sequences of uniformly random tokens in which a random segment appears twice, so that
 * the second copy can only be predicted by finding the earlier occurrence of the current token and
 * copying what followed it, which is what an induction circuit does.
 *
 * <p>A training sequence is {@code BOS, s_1..s_L, s_1..s_L, t_1..t_M, t_1..t_M, ...} cut at n_ctx tokens:
 * fresh random segments, each followed by a copy of itself, their lengths drawn anew each time (so no
 * fixed positional offset can solve the task) and short ones more often (see {@link #segmentLength}).
 * Token 0 is BOS; the others are drawn from 1..d_vocab-1.
 */
public final class RepeatedTokens {
    /** The id of the beginning-of-sequence token that starts every sequence. */
    public static final int BOS = 0;

    private final int dVocab;
    private final int nCtx;
    private final int minLength;
    private final int maxLength;

    /**
     * @param minLength shortest repeated segment
     * @param maxLength longest repeated segment; {@code 1 + 2 * maxLength <= nCtx}
     */
    public RepeatedTokens(int dVocab, int nCtx, int minLength, int maxLength) {
        if (dVocab < 3 || minLength < 1 || maxLength < minLength || 1 + 2 * maxLength > nCtx) {
            throw new LoupeException("Repeated-token sequences need d_vocab >= 3 and 1 <= min length <= max length with"
                    + " 1 + 2 * max length <= n_ctx; got d_vocab " + dVocab + ", lengths " + minLength + ".." + maxLength
                    + ", n_ctx " + nCtx);
        }
        this.dVocab = dVocab;
        this.nCtx = nCtx;
        this.minLength = minLength;
        this.maxLength = maxLength;
    }

    /** A batch of training sequences, int64 ids [batch × n_ctx] flattened row by row. */
    public long[] batch(TrainingRandom random, int batch) {
        long[] ids = new long[batch * nCtx];
        for (int b = 0; b < batch; b++) {
            int at = b * nCtx;
            ids[at] = BOS;
            int filled = 1;
            while (filled < nCtx) {
                int length = segmentLength(random);
                for (int i = 0; i < length && filled + i < nCtx; i++) {
                    ids[at + filled + i] = randomToken(random);
                }
                for (int i = 0; i < length && filled + length + i < nCtx; i++) {
                    ids[at + filled + length + i] = ids[at + filled + i];
                }
                filled += 2 * length;
            }
        }
        return ids;
    }

    /** {@code BOS, s_1..s_n, s_1..s_n}: a random segment of {@code n} tokens, repeated once (2n + 1 ids). */
    public static long[] repeatedTwice(TrainingRandom random, int n, int dVocab) {
        return repeated(random, n, 2, dVocab);
    }

    /** {@code BOS} then a random segment of {@code n} tokens {@code times} times ({@code times·n + 1} ids). */
    public static long[] repeated(TrainingRandom random, int n, int times, int dVocab) {
        long[] ids = new long[1 + times * n];
        ids[0] = BOS;
        for (int i = 1; i <= n; i++) {
            ids[i] = 1 + random.nextInt(dVocab - 1);
        }
        for (int copy = 1; copy < times; copy++) {
            System.arraycopy(ids, 1, ids, 1 + copy * n, n);
        }
        return ids;
    }

    /**
     * A segment length in [min, max], short ones more often (min + floor((max - min + 1)·u²), about half
     * at most a quarter of the range): a short segment can only be continued by looking one token back,
     * which rewards a true previous-token head over heads that look a fixed number of tokens further back.
     */
    private int segmentLength(TrainingRandom random) {
        double u = random.nextDouble();
        return Math.min(maxLength, minLength + (int) Math.floor((maxLength - minLength + 1) * u * u));
    }

    private long randomToken(TrainingRandom random) {
        return 1 + random.nextInt(dVocab - 1);
    }
}
