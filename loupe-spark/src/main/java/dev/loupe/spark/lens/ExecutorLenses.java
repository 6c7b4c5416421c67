package dev.loupe.spark.lens;

import dev.loupe.lens.TunedLens;
import dev.loupe.spark.ExecutorModels;
import dev.loupe.spark.ModelSpec;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The saved tuned lenses of this JVM, one per (lens folder, model), loaded on first use as models are. */
final class ExecutorLenses {
    private record Key(String dir, ModelSpec model) {}

    private static final Map<Key, TunedLens> LENSES = new ConcurrentHashMap<>();

    private ExecutorLenses() {}

    /** The lens saved in {@code dir} (null: none) for {@code model}. */
    static TunedLens get(String dir, ModelSpec model) {
        if (dir == null) {
            return null;
        }
        return LENSES.computeIfAbsent(new Key(dir, model), k -> TunedLens.load(Path.of(dir), ExecutorModels.get(model)));
    }
}
