package dev.loupe.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;

/**
 * TransformerLens's {@code sample_logits}: one next token per row of final logits [batch, d_vocab],
 * with temperature, frequency and repetition penalties, and top-k or top-p (nucleus) filtering.
 *
 * <p>DJL has no multinomial sampler, so the draw is by inverse CDF over the softmax, from a
 * {@link Random} the caller seeds: the same seed gives the same tokens, though not the tokens torch
 * would draw.
 */
public final class Sampling {
    private Sampling() {}

    /**
     * The keyword arguments of {@code sample_logits}.
     *
     * @param topK keep only the k largest logits (ties with the k-th kept); null for none; clamped
     *     to the vocabulary size
     * @param topP keep the smallest prefix of tokens, by descending probability, whose cumulative
     *     probability exceeds p; null for none; ignored when topK is set, as in TransformerLens
     * @param temperature logits are divided by it; 0 means greedy (argmax)
     * @param freqPenalty subtracted from each (temperature-scaled) logit once per earlier occurrence
     *     of its token; needs the tokens
     * @param repetitionPenalty Hugging Face style: a logit of a token already present is divided by
     *     it if positive and multiplied by it otherwise; 1 for none
     */
    public record Options(Integer topK, Float topP, float temperature, float freqPenalty, float repetitionPenalty) {
        public Options {
            if (topK != null && topK <= 0) {
                throw new LoupeException("top_k has to be greater than 0");
            }
            if (topP != null && !(topP > 0f && topP <= 1f)) {
                throw new LoupeException("top_p has to be in (0, 1]");
            }
        }

        /** Plain sampling at temperature 1, no filter, no penalty. */
        public static Options defaults() {
            return new Options(null, null, 1f, 0f, 1f);
        }

        /** Greedy decoding. */
        public static Options greedy() {
            return new Options(null, null, 0f, 0f, 1f);
        }

        /** The same with top-k filtering (null for none). */
        public Options withTopK(Integer k) {
            return new Options(k, topP, temperature, freqPenalty, repetitionPenalty);
        }

        /** The same with nucleus filtering (null for none). */
        public Options withTopP(Float p) {
            return new Options(topK, p, temperature, freqPenalty, repetitionPenalty);
        }

        /** The same at another temperature (0 for greedy). */
        public Options withTemperature(float t) {
            return new Options(topK, topP, t, freqPenalty, repetitionPenalty);
        }

        /** The same with another frequency penalty. */
        public Options withFreqPenalty(float penalty) {
            return new Options(topK, topP, temperature, penalty, repetitionPenalty);
        }

        /** The same with another repetition penalty (1 for none). */
        public Options withRepetitionPenalty(float penalty) {
            return new Options(topK, topP, temperature, freqPenalty, penalty);
        }
    }

    /**
     * Samples one token per row.
     *
     * @param finalLogits [batch, d_vocab]
     * @param tokens int64 [batch, pos] seen so far, or null (needed for the penalties)
     * @param random the source of randomness (unused when greedy)
     * @return int64 [batch], owned by {@code manager}
     */
    public static NDArray sampleLogits(NDArray finalLogits, Options options, NDArray tokens, Random random,
            NDManager manager) {
        Shape shape = finalLogits.getShape();
        if (shape.dimension() != 2) {
            throw new LoupeException("sampleLogits takes final logits [batch, d_vocab], got " + shape);
        }
        int batch = (int) shape.get(0);
        int vocab = (int) shape.get(1);
        float[] flat = finalLogits.toType(DataType.FLOAT32, false).toFloatArray();
        float[][] logits = new float[batch][];
        for (int b = 0; b < batch; b++) {
            logits[b] = Arrays.copyOfRange(flat, b * vocab, (b + 1) * vocab);
        }
        long[][] seen = null;
        if (tokens != null) {
            if (tokens.getShape().dimension() != 2) {
                throw new LoupeException("Frequency penalty do not support input in the form of embeddings");
            }
            int pos = (int) tokens.getShape().get(1);
            long[] ids = tokens.toType(DataType.INT64, false).toLongArray();
            seen = new long[batch][];
            for (int b = 0; b < batch; b++) {
                seen[b] = Arrays.copyOfRange(ids, b * pos, (b + 1) * pos);
            }
        }
        return manager.create(sampleLogits(logits, options, seen, random));
    }

    /** As {@link #sampleLogits(NDArray, Options, NDArray, Random, NDManager)} on Java arrays [batch][d_vocab]. */
    public static long[] sampleLogits(float[][] finalLogits, Options options, long[][] tokens, Random random) {
        long[] out = new long[finalLogits.length];
        for (int b = 0; b < finalLogits.length; b++) {
            float[] row = filteredLogits(finalLogits[b], options, tokens == null ? null : tokens[b]);
            out[b] = options.temperature() == 0f ? argmax(row) : draw(row, random);
        }
        return out;
    }

    /**
     * The logits a row is sampled from, after the penalties, the temperature and the top-k or top-p
     * mask (removed tokens are −∞). When greedy, only the repetition penalty applies, as in
     * TransformerLens.
     *
     * @param logits [d_vocab] (not changed)
     * @param tokens the row's tokens so far, or null
     */
    public static float[] filteredLogits(float[] logits, Options options, long[] tokens) {
        float[] x = logits.clone();
        if (options.repetitionPenalty() != 1f && tokens != null) {
            boolean[] present = new boolean[x.length];
            for (long t : tokens) {
                present[(int) t] = true;
            }
            for (int v = 0; v < x.length; v++) {
                if (present[v]) {
                    x[v] = x[v] > 0 ? x[v] / options.repetitionPenalty() : x[v] * options.repetitionPenalty();
                }
            }
        }
        if (options.temperature() == 0f) {
            return x;
        }
        for (int v = 0; v < x.length; v++) {
            x[v] /= options.temperature();
        }
        if (options.freqPenalty() > 0f) {
            if (tokens == null) {
                throw new LoupeException("Must provide input_tokens if applying a frequency penalty");
            }
            int[] counts = new int[x.length];
            for (long t : tokens) {
                counts[(int) t]++;
            }
            for (int v = 0; v < x.length; v++) {
                x[v] -= options.freqPenalty() * counts[v];
            }
        }
        if (options.topK() != null) {
            int k = Math.min(options.topK(), x.length);
            float[] sorted = x.clone();
            Arrays.sort(sorted);
            float kth = sorted[sorted.length - k];
            for (int v = 0; v < x.length; v++) {
                if (x[v] < kth) {
                    x[v] = Float.NEGATIVE_INFINITY;
                }
            }
        } else if (options.topP() != null) {
            Integer[] order = new Integer[x.length];
            Arrays.setAll(order, i -> i);
            float[] values = x;
            // Stable, so that ties keep index order, as a stable descending sort would.
            Arrays.sort(order, Comparator.comparingDouble(i -> -values[i]));
            double max = values[order[0]];
            double total = 0;
            for (float v : values) {
                total += Math.exp(v - max);
            }
            double cumulative = 0;
            boolean removeNext = false;
            for (int rank = 0; rank < order.length; rank++) {
                int v = order[rank];
                // A token goes when the tokens before it already exceed p: the first always stays.
                boolean remove = rank > 0 && removeNext;
                cumulative += Math.exp(values[v] - max) / total;
                removeNext = cumulative > options.topP();
                if (remove) {
                    x[v] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        return x;
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int v = 1; v < x.length; v++) {
            if (x[v] > x[best]) {
                best = v;
            }
        }
        return best;
    }

    /** Inverse-CDF draw from softmax(x), in double so that tiny probabilities still add up. */
    private static int draw(float[] x, Random random) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double[] cdf = new double[x.length];
        double total = 0;
        for (int v = 0; v < x.length; v++) {
            total += Math.exp(x[v] - max);
            cdf[v] = total;
        }
        double u = random.nextDouble() * total;
        int last = 0;
        for (int v = 0; v < x.length; v++) {
            if (x[v] != Float.NEGATIVE_INFINITY) {
                last = v;
                if (u < cdf[v]) {
                    return v;
                }
            }
        }
        return last;
    }
}
