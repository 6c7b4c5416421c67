package dev.loupe.numeric;

import ai.djl.ndarray.NDArray;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * A state dict (TransformerLens name → tensor, in insertion order) in which an entry may be a stored
 * tensor times a scalar, made only when someone reads it ({@link #putScaled}). Gemma's {@code W_E} is
 * √d_model × the checkpoint's embedding, whose transpose is the tied {@code W_U}: kept as a scaled entry,
 * one stored [d_vocab, d_model] matrix serves both (1.8 GB at Gemma-2-9B in float16) and the embedding
 * scales the rows it looks up, which gives the same float32 products. Reading the entry ({@link #get},
 * an entry's value) makes the scaled tensor once, in the stored tensor's manager, as TransformerLens's
 * state dict holds it; copying with {@link #copyOf} or {@link #map} keeps the entry scaled.
 *
 * <p>Thread-safe for reads: a model shared between threads may read a scaled entry from several.
 */
public final class StateDict extends AbstractMap<String, NDArray> {

    /** An entry that reads as {@code stored × scale}; {@code stored} is kept as it is. */
    public record Scaled(NDArray stored, float scale) {}

    private final Map<String, Object> entries = new LinkedHashMap<>(); // NDArray or Scaled
    private final Map<String, NDArray> made = new HashMap<>();

    /** An empty state dict. */
    public StateDict() {}

    /** A copy of {@code source} (its scaled entries stay scaled where it is a {@code StateDict}). */
    public static StateDict copyOf(Map<String, NDArray> source) {
        StateDict copy = new StateDict();
        if (source instanceof StateDict dict) {
            synchronized (dict) {
                copy.entries.putAll(dict.entries);
            }
        } else {
            copy.entries.putAll(source);
        }
        return copy;
    }

    /**
     * The scaled entry {@code name} of {@code dict}, if {@code dict} is a {@code StateDict} that holds it
     * scaled (a component then computes with the stored tensor and the scale).
     */
    public static Optional<Scaled> scaled(Map<String, NDArray> dict, String name) {
        return dict instanceof StateDict d && d.rawEntry(name) instanceof Scaled s ? Optional.of(s) : Optional.empty();
    }

    /**
     * Whether any tensor as stored (a scaled entry's stored tensor, not its product) satisfies {@code test}:
     * asks about every entry without making a scaled one.
     */
    public static boolean anyStored(Map<String, NDArray> dict, Predicate<NDArray> test) {
        if (!(dict instanceof StateDict d)) {
            return dict.values().stream().anyMatch(test);
        }
        synchronized (d) {
            return d.entries.values().stream().anyMatch(v -> test.test(v instanceof Scaled s ? s.stored() : (NDArray) v));
        }
    }

    /** Puts {@code stored × scale} under {@code name}, made when it is first read. */
    public synchronized void putScaled(String name, NDArray stored, float scale) {
        made.remove(name);
        entries.put(name, new Scaled(stored, scale));
    }

    /**
     * A state dict with {@code each} applied to every tensor as stored (a scaled entry keeps its scale over
     * the result), e.g. copies of every tensor in another manager.
     */
    public synchronized StateDict map(UnaryOperator<NDArray> each) {
        StateDict result = new StateDict();
        entries.forEach((name, value) -> result.entries.put(name,
                value instanceof Scaled s ? new Scaled(each.apply(s.stored()), s.scale()) : each.apply((NDArray) value)));
        return result;
    }

    @Override
    public synchronized NDArray put(String name, NDArray value) {
        Object previous = entries.put(name, value);
        NDArray madeBefore = made.remove(name);
        return previous instanceof Scaled ? madeBefore : (NDArray) previous;
    }

    @Override
    public synchronized NDArray get(Object name) {
        Object value = entries.get(name);
        if (value instanceof Scaled s) {
            return made.computeIfAbsent((String) name, n -> s.stored().mul(s.scale()));
        }
        return (NDArray) value;
    }

    @Override
    public synchronized boolean containsKey(Object name) {
        return entries.containsKey(name);
    }

    @Override
    public synchronized NDArray remove(Object name) {
        NDArray value = get(name);
        entries.remove(name);
        made.remove(name);
        return value;
    }

    @Override
    public synchronized int size() {
        return entries.size();
    }

    /** Entries in insertion order; a scaled entry's value is made when it is asked for, not when iterated past. */
    @Override
    public Set<Entry<String, NDArray>> entrySet() {
        return new AbstractSet<>() {
            @Override
            public Iterator<Entry<String, NDArray>> iterator() {
                Iterator<String> names;
                synchronized (StateDict.this) {
                    names = List.copyOf(entries.keySet()).iterator();
                }
                return new Iterator<>() {
                    @Override
                    public boolean hasNext() {
                        return names.hasNext();
                    }

                    @Override
                    public Entry<String, NDArray> next() {
                        return new LazyEntry(names.next());
                    }
                };
            }

            @Override
            public int size() {
                return StateDict.this.size();
            }
        };
    }

    private synchronized Object rawEntry(String name) {
        return entries.get(name);
    }

    /** An entry whose value is read from the dict when asked for. */
    private final class LazyEntry implements Entry<String, NDArray> {
        private final String name;

        LazyEntry(String name) {
            this.name = name;
        }

        @Override
        public String getKey() {
            return name;
        }

        @Override
        public NDArray getValue() {
            return get(name);
        }

        @Override
        public NDArray setValue(NDArray value) {
            return put(name, value);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Entry<?, ?> e && name.equals(e.getKey()) && getValue().equals(e.getValue());
        }

        @Override
        public int hashCode() {
            return name.hashCode() ^ getValue().hashCode();
        }
    }
}
