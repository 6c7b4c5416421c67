package dev.loupe.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.hook.ActName;
import dev.loupe.model.ModelOutput;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The activations of one run by TransformerLens hook name, in firing order, plus the run's output.
 * With gradients requested, {@code <name>_grad} holds d(metric)/d(activation) for each entry.
 *
 * <p>The cache owns its memory: everything in it (the output included) is freed by {@link #close()}.
 *
 * <pre>{@code
 * try (ActivationCache cache = model.runWithCache(tokens)) {
 *     NDArray pattern = cache.get("pattern", 0);            // blocks.0.attn.hook_pattern [batch, head, q, k]
 *     NDArray last = cache.get("resid_post", -1);           // the last block's output
 *     NDArray logits = cache.logits();
 * }
 * }</pre>
 */
public final class ActivationCache implements AutoCloseable {
    private final Map<String, NDArray> activations;
    private final ModelOutput output;
    private final NDManager manager;
    private final int nLayers;

    /**
     * @param activations name to activation, in firing order; all owned by {@code manager}
     * @param output the run's output, owned by {@code manager}
     * @param manager the cache's own manager, closed with it
     * @param nLayers the model's number of blocks, to resolve negative layers
     */
    public ActivationCache(Map<String, NDArray> activations, ModelOutput output, NDManager manager, int nLayers) {
        this.activations = Collections.unmodifiableMap(new LinkedHashMap<>(activations));
        this.output = output;
        this.manager = manager;
        this.nLayers = nLayers;
    }

    /**
     * The activation called {@code name}: an exact hook name, or shorthand that {@link ActName#of(String)}
     * expands ({@code "embed"}, {@code "k6"}).
     *
     * @throws LoupeException if the cache has no such entry, listing what it has
     */
    public NDArray get(String name) {
        NDArray exact = activations.get(name);
        return exact != null ? exact : require(ActName.of(name));
    }

    /** {@code name} in block {@code layer} ({@code get("pattern", 0)}); negative layers count from the end. */
    public NDArray get(String name, int layer) {
        return require(ActName.of(name, resolve(layer)));
    }

    /** {@code name} in block {@code layer} of sub-module {@code layerType} ({@code get("scale", 4, "ln1")}). */
    public NDArray get(String name, int layer, String layerType) {
        return require(ActName.of(name, resolve(layer), layerType));
    }

    /** Whether the cache holds {@code name} (exact hook name). */
    public boolean containsKey(String name) {
        return activations.containsKey(name);
    }

    /** Every hook name held, in firing order. */
    public List<String> keys() {
        return new ArrayList<>(activations.keySet());
    }

    /** Every entry, in firing order (read-only). */
    public Map<String, NDArray> asMap() {
        return activations;
    }

    /** Number of entries. */
    public int size() {
        return activations.size();
    }

    /** The run's logits [batch, pos, d_vocab_out], or null if the run returned none. */
    public NDArray logits() {
        return output.logits();
    }

    /** The run's loss, or null if the run did not compute one. */
    public NDArray loss() {
        return output.loss();
    }

    /** The run's whole output. */
    public ModelOutput output() {
        return output;
    }

    /** The manager that owns every array here. */
    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
    }

    private int resolve(int layer) {
        return layer < 0 ? nLayers + layer : layer;
    }

    private NDArray require(String name) {
        NDArray value = activations.get(name);
        if (value == null) {
            String held = activations.size() <= 12 ? String.join(", ", activations.keySet())
                    : String.join(", ", keys().subList(0, 12)) + ", … (" + activations.size() + " in all)";
            throw new LoupeException("The cache has no activation '" + name + "'. It holds: " + held
                    + ". Widen the names filter of runWithCache if you need it.");
        }
        return value;
    }
}
