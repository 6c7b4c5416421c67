package dev.loupe.sae.features;

import dev.loupe.LoupeException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Streams batches of feature activations and keeps, per feature, what a {@link FeatureActivity} holds: active
 * tokens, the largest activation, a histogram whose range doubles as larger values arrive (pairs of bins merge, so
 * the counts equal a histogram made at the end) and a bounded heap of the top contexts. The memory it keeps is
 * bounded by d_sae × (bins + topContexts × window), however long the corpus.
 *
 * <p>Deterministic: a context is a sequence's largest activation (its first position on ties), and contexts rank
 * by activation, then by earlier sequence, so the same corpus gives the same result in any batch size.
 */
public final class FeatureCollector {
    /** Worst first: the head of a heap is the context the next better one replaces. */
    private static final Comparator<FeatureContext> WORST_FIRST = Comparator
            .comparingDouble(FeatureContext::maxActivation)
            .thenComparing(Comparator.comparingInt(FeatureContext::sequence).reversed());

    private final int dSae;
    private final FeatureOptions options;
    private final boolean[] keepContexts;
    private final long[] active;
    private final float[] max;
    private final double[] range;
    private final long[] bins;
    private final List<PriorityQueue<FeatureContext>> heaps;
    private long tokens;
    private int sequences;

    /**
     * @param dSae the SAE's width
     * @param contextsOf the features whose contexts are kept (every feature's density and histogram are), or null
     *     for all
     */
    public FeatureCollector(int dSae, int[] contextsOf, FeatureOptions options) {
        this.dSae = dSae;
        this.options = options;
        keepContexts = new boolean[dSae];
        if (contextsOf == null) {
            Arrays.fill(keepContexts, true);
        } else {
            for (int f : contextsOf) {
                if (f < 0 || f >= dSae) {
                    throw new LoupeException("Feature " + f + " does not exist: the SAE has features 0 to " + (dSae - 1));
                }
                keepContexts[f] = true;
            }
        }
        active = new long[dSae];
        max = new float[dSae];
        range = new double[dSae];
        bins = new long[dSae * options.histogramBins()];
        heaps = new ArrayList<>(dSae);
        for (int f = 0; f < dSae; f++) {
            heaps.add(null);
        }
    }

    /**
     * Adds one batch: {@code acts} [batch, pos, d_sae] (row-major) of the sequences {@code tokens} [batch][pos],
     * which follow the sequences of earlier batches in the corpus.
     */
    public void add(float[] acts, long[][] tokens) {
        int batch = tokens.length;
        int pos = batch == 0 ? 0 : tokens[0].length;
        for (long[] row : tokens) {
            if (row.length != pos) {
                throw new LoupeException("Every sequence of a batch needs the same length: " + pos + " and " + row.length);
            }
        }
        if (acts.length != (long) batch * pos * dSae) {
            throw new LoupeException("Activations [batch, pos, d_sae] = [" + batch + ", " + pos + ", " + dSae
                    + "] need " + (long) batch * pos * dSae + " values, got " + acts.length);
        }
        float[] sequenceMax = new float[dSae];
        int[] argMax = new int[dSae];
        for (int s = 0; s < batch; s++) {
            Arrays.fill(sequenceMax, 0f);
            for (int t = 0; t < pos; t++) {
                int base = (s * pos + t) * dSae;
                for (int f = 0; f < dSae; f++) {
                    float v = acts[base + f];
                    if (v > 0) {
                        active[f]++;
                        count(f, v);
                        if (v > sequenceMax[f]) {
                            sequenceMax[f] = v;
                            argMax[f] = t;
                        }
                    }
                }
            }
            for (int f = 0; f < dSae; f++) {
                if (sequenceMax[f] > 0) {
                    max[f] = Math.max(max[f], sequenceMax[f]);
                    if (keepContexts[f]) {
                        offer(f, sequenceMax[f], argMax[f], s, acts, tokens[s]);
                    }
                }
            }
        }
        this.tokens += (long) batch * pos;
        sequences += batch;
    }

    /** Every feature's activity so far, by feature index. */
    public List<FeatureActivity> activities() {
        List<FeatureActivity> all = new ArrayList<>(dSae);
        int n = options.histogramBins();
        for (int f = 0; f < dSae; f++) {
            double width = (range[f] > 0 ? range[f] : 1) / n;
            ActivationHistogram histogram = new ActivationHistogram(width, Arrays.copyOfRange(bins, f * n, (f + 1) * n));
            List<FeatureContext> contexts = new ArrayList<>();
            if (heaps.get(f) != null) {
                contexts.addAll(heaps.get(f));
                contexts.sort(WORST_FIRST.reversed());
            }
            all.add(new FeatureActivity(f, active[f], tokens, max[f], histogram, contexts));
        }
        return all;
    }

    /** The tokens added so far. */
    public long tokens() {
        return tokens;
    }

    private void count(int f, float value) {
        int n = options.histogramBins();
        int offset = f * n;
        if (value == Float.POSITIVE_INFINITY) {
            throw new LoupeException("Feature " + f + " has an infinite activation in the batch from sequence "
                    + sequences + "; the model or the SAE overflows on this corpus");
        }
        if (range[f] == 0) {
            range[f] = Math.scalb(1.0, Math.getExponent((double) value) + 1);
        }
        while (value >= range[f]) {
            // Twice the range: bins 2i and 2i + 1 become bin i.
            for (int i = 0; i < n / 2; i++) {
                bins[offset + i] = bins[offset + 2 * i] + bins[offset + 2 * i + 1];
            }
            if (n > 1) {
                Arrays.fill(bins, offset + n / 2, offset + n, 0);
            }
            range[f] *= 2;
        }
        // Both factors are powers of two: the scaling is exact and the bin is the exact floor.
        bins[offset + (int) (value / range[f] * n)]++;
    }

    private void offer(int f, float value, int position, int batchRow, float[] acts, long[] ids) {
        PriorityQueue<FeatureContext> heap = heaps.get(f);
        if (heap == null) {
            heap = new PriorityQueue<>(WORST_FIRST);
            heaps.set(f, heap);
        }
        int sequence = sequences + batchRow;
        if (heap.size() == options.topContexts()) {
            FeatureContext worst = heap.peek();
            // A later sequence never displaces an equal activation: ties keep the earlier sequence.
            if (value <= worst.maxActivation()) {
                return;
            }
            heap.poll();
        }
        int pos = ids.length;
        int start = Math.max(0, position - options.tokensBefore());
        int end = Math.min(pos, position + options.tokensAfter() + 1);
        float[] window = new float[end - start];
        for (int t = start; t < end; t++) {
            window[t - start] = acts[(batchRow * pos + t) * dSae + f];
        }
        heap.add(new FeatureContext(sequence, position, start, Arrays.copyOfRange(ids, start, end), window));
    }
}
