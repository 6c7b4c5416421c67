package dev.loupe.spark.stats;

import dev.loupe.LoupeException;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Count, mean, variance, min and max of each dimension of one hook's values [width], over any number of tokens:
 * Welford's update for one token and Chan et al.'s merge of two partial results, both in double, so that the result
 * does not depend on how the tokens were split into partitions (beyond rounding) and does not lose precision to a
 * large mean the way sum-of-squares does.
 */
public final class Moments implements Serializable {
    private static final long serialVersionUID = 1L;
    private long count;
    private final double[] mean;
    private final double[] m2; // sum of squared deviations from the mean
    private final float[] min;
    private final float[] max;

    /** No tokens yet, of {@code width} dimensions. */
    public Moments(int width) {
        mean = new double[width];
        m2 = new double[width];
        min = new float[width];
        max = new float[width];
        Arrays.fill(min, Float.POSITIVE_INFINITY);
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
    }

    /** Adds one token's values [width]. */
    public Moments add(float[] values) {
        checkWidth(values.length);
        count++;
        for (int d = 0; d < values.length; d++) {
            double delta = values[d] - mean[d];
            mean[d] += delta / count;
            m2[d] += delta * (values[d] - mean[d]);
            min[d] = Math.min(min[d], values[d]);
            max[d] = Math.max(max[d], values[d]);
        }
        return this;
    }

    /** Adds every token {@code other} has seen (Chan's parallel formula); returns this. */
    public Moments merge(Moments other) {
        checkWidth(other.mean.length);
        if (other.count == 0) {
            return this;
        }
        long total = count + other.count;
        for (int d = 0; d < mean.length; d++) {
            double delta = other.mean[d] - mean[d];
            mean[d] += delta * other.count / total;
            m2[d] += other.m2[d] + delta * delta * ((double) count * other.count / total);
            min[d] = Math.min(min[d], other.min[d]);
            max[d] = Math.max(max[d], other.max[d]);
        }
        count = total;
        return this;
    }

    public long count() {
        return count;
    }

    /** The mean of each dimension [width] (for mean-ablation). */
    public double[] mean() {
        return mean.clone();
    }

    /** The population variance of each dimension [width] (divided by the count, as numpy's default). */
    public double[] variance() {
        double[] out = new double[m2.length];
        for (int d = 0; d < out.length; d++) {
            out[d] = count == 0 ? Double.NaN : m2[d] / count;
        }
        return out;
    }

    public float[] min() {
        return min.clone();
    }

    public float[] max() {
        return max.clone();
    }

    public int width() {
        return mean.length;
    }

    private void checkWidth(int width) {
        if (width != mean.length) {
            throw new LoupeException("A hook's values have " + mean.length + " dimensions, got " + width
                    + "; statistics merge values of one hook only");
        }
    }
}
