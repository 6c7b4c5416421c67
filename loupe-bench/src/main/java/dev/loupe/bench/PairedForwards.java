package dev.loupe.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.config.WeightDtype;
import dev.loupe.model.HookedTransformer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The forward-time ratio of two models held by one JVM, their forwards of 1×128 tokens taken in turn
 * ({@link BigBench}'s Mixtral against its dense twin): on a shared machine whose load drifts by
 * several times within minutes, alternating puts the same drift on both sides of the ratio, which
 * timing them in separate JVMs minutes apart does not.
 *
 * <p>Usage: {@code PairedForwards DIR_A DIR_B WARMUP RUNS}; prints one {@link BigChild#RESULT_PREFIX} line
 * (or {@link BigChild#FAILURE_PREFIX} line).
 */
public final class PairedForwards {
    private PairedForwards() {}

    /**
     * Mean forward times in ms of model {@code a} and model {@code b}, float32, over {@code runs}
     * alternations, and how long the JVM stood still meanwhile ({@link RssSampler.Peak#stalledMs}).
     */
    record Pair(String a, String b, double aMs, double bMs, int runs, long stalledMs) {
        double ratio() {
            return aMs / bMs;
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 4) {
            System.err.println("Usage: PairedForwards DIR_A DIR_B WARMUP RUNS");
            System.exit(2);
        }
        Pair pair;
        try {
            pair = measure(Path.of(args[0]), Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
        } catch (RuntimeException | OutOfMemoryError e) {
            System.out.println(BigChild.FAILURE_PREFIX + e.getClass().getSimpleName() + ": " + e.getMessage());
            throw e;
        }
        System.out.println(BigChild.RESULT_PREFIX + new ObjectMapper().writeValueAsString(pair));
    }

    /** Loads both folders as float32, warms each up {@code warmup} times, then times {@code runs} alternations. */
    static Pair measure(Path a, Path b, int warmup, int runs) {
        try (RssSampler sampler = RssSampler.start(50);
                HookedTransformer first = HookedTransformer.fromPretrainedNoProcessing(a, WeightDtype.FLOAT32);
                HookedTransformer second = HookedTransformer.fromPretrainedNoProcessing(b, WeightDtype.FLOAT32);
                NDManager manager = NDManager.newBaseManager()) {
            NDArray tokens = Gpt2SmallFixture.tokens(manager, 1, BigChild.POSITIONS,
                    Math.min(first.config().dVocab(), second.config().dVocab()));
            for (int i = 0; i < warmup; i++) {
                time(first, tokens);
                time(second, tokens);
            }
            long aNanos = 0;
            long bNanos = 0;
            for (int i = 0; i < runs; i++) {
                aNanos += time(first, tokens);
                bNanos += time(second, tokens);
            }
            return new Pair(name(a), name(b), aNanos / 1e6 / runs, bNanos / 1e6 / runs, runs,
                    sampler.peak().stalledMs());
        }
    }

    private static long time(HookedTransformer model, NDArray tokens) {
        long start = System.nanoTime();
        try (NDArray logits = model.forward(tokens)) {
            return System.nanoTime() - start;
        }
    }

    /** The model name of a {@code loupe-bench-NAME} folder. */
    private static String name(Path dir) {
        return dir.getFileName().toString().replaceFirst("^loupe-bench-", "");
    }
}
