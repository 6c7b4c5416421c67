package dev.loupe.sae.analysis;

import java.util.Arrays;

/** The n largest and n smallest values of a stream of (token, value), ties to the lower token. */
final class TopTokens {
    private final long[] highTokens;
    private final float[] high;
    private final long[] lowTokens;
    private final float[] low;
    private int size;

    TopTokens(int n) {
        highTokens = new long[n];
        high = new float[n];
        lowTokens = new long[n];
        low = new float[n];
    }

    /** Offers the next token; tokens must come in increasing order, so that a tie keeps the earlier one. */
    void offer(long token, float value) {
        if (Float.isNaN(value)) {
            return;
        }
        int n = high.length;
        if (size < n) {
            insert(highTokens, high, size, token, value, true);
            insert(lowTokens, low, size, token, value, false);
            size++;
            return;
        }
        if (value > high[n - 1]) {
            insert(highTokens, high, n - 1, token, value, true);
        }
        if (value < low[n - 1]) {
            insert(lowTokens, low, n - 1, token, value, false);
        }
    }

    FeatureTopTokens result(int feature) {
        return new FeatureTopTokens(feature, Arrays.copyOf(highTokens, size), Arrays.copyOf(high, size),
                Arrays.copyOf(lowTokens, size), Arrays.copyOf(low, size));
    }

    /** Puts (token, value) into the sorted prefix [0, last], dropping what was at {@code last}. */
    private static void insert(long[] tokens, float[] values, int last, long token, float value, boolean descending) {
        int i = last;
        // Strictly before: an equal value stays behind the earlier (lower) token.
        while (i > 0 && (descending ? value > values[i - 1] : value < values[i - 1])) {
            tokens[i] = tokens[i - 1];
            values[i] = values[i - 1];
            i--;
        }
        tokens[i] = token;
        values[i] = value;
    }
}
