package dev.loupe.train;

/**
 * A seeded random source whose whole state is one {@code long} (SplitMix64), so that a checkpoint
 * can store it and a resumed run draws exactly the numbers an uninterrupted one would. Everything
 * random in training (initial weights, batches) comes from one of these, never from the engine, so
 * a run is reproducible from its seed.
 */
public final class TrainingRandom {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private long state;

    private TrainingRandom(long state) {
        this.state = state;
    }

    /** A source started from {@code seed}. */
    public static TrainingRandom seeded(long seed) {
        return new TrainingRandom(seed);
    }

    /** A source that continues from a state saved with {@link #state()}. */
    public static TrainingRandom fromState(long state) {
        return new TrainingRandom(state);
    }

    /** The state to save; {@link #fromState(long)} continues from it. */
    public long state() {
        return state;
    }

    /** The next 64 random bits. */
    public long nextLong() {
        long z = (state += GOLDEN_GAMMA);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, bound), without modulo bias. */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        // As java.util.Random: redraw the few 63-bit values that would make the remainder biased.
        long bits = nextLong() >>> 1;
        long value = bits % bound;
        while (bits - value + (bound - 1) < 0) {
            bits = nextLong() >>> 1;
            value = bits % bound;
        }
        return (int) value;
    }

    /** Uniform in [from, to). */
    public int nextInt(int from, int to) {
        return from + nextInt(to - from);
    }

    /** A standard normal value (Box–Muller; one of the pair is used, so each call takes two draws). */
    public double nextGaussian() {
        double u1 = 1.0 - nextDouble(); // (0, 1], so the log is finite
        double u2 = nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
    }

    /** {@code count} values drawn from N(0, std²), as float32. */
    public float[] normal(int count, double std) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (std * nextGaussian());
        }
        return values;
    }
}
