package dev.loupe.spark;

import dev.loupe.model.HookedTransformer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models of this JVM, one per {@link ModelSpec}: loaded by the first task that needs it and shared by every
 * later task (and by the concurrent tasks of an executor: forward passes of one model may run on several threads).
 * Loading costs seconds to minutes; a task costs milliseconds to seconds, so a model per task would dominate.
 */
public final class ExecutorModels {
    private static final Map<ModelSpec, HookedTransformer> MODELS = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ExecutorModels() {}

    /** The model {@code spec} names, loaded in this JVM on first use. */
    public static HookedTransformer get(ModelSpec spec) {
        return MODELS.computeIfAbsent(spec, s -> {
            LOADS.incrementAndGet();
            return s.load();
        });
    }

    /** How many models this JVM has loaded so far (each {@link ModelSpec} once). */
    public static int loads() {
        return LOADS.get();
    }
}
