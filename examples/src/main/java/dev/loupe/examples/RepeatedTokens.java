package dev.loupe.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Random;

/** The input an induction circuit is seen on: BOS, then random tokens, then the same tokens again. */
final class RepeatedTokens {
    /** The shipped 2-layer attention-only model with induction heads (a Loupe native folder, ids 0..299, 0 is BOS). */
    static final String INDUCTION_MODEL = "models/induction-2l";

    private RepeatedTokens() {}

    /**
     * BOS and {@code half} random ids in 1..vocab-1, twice: [1, 1 + 2·half].
     *
     * @param prefix the first half's ids when not null (a corrupted run keeps the second half and changes the first)
     */
    static NDArray of(NDManager manager, int half, int vocab, long seed, long[] prefix) {
        Random random = new Random(seed);
        long[] ids = new long[1 + 2 * half];
        for (int i = 0; i < half; i++) {
            ids[1 + i] = 1 + random.nextInt(vocab - 1);
            ids[1 + half + i] = ids[1 + i];
        }
        if (prefix != null) {
            System.arraycopy(prefix, 0, ids, 1, half);
        }
        return manager.create(new long[][] {ids});
    }
}
