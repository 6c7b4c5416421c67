package dev.loupe.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.LoupeException;
import dev.loupe.hook.ActName;
import dev.loupe.io.safetensors.SafetensorsFile;
import dev.loupe.io.safetensors.SafetensorsWriter;
import dev.loupe.run.ModelOutput;
import java.nio.file.Path;
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
    private final CacheModel model;

    /**
     * @param activations name to activation, in firing order; all owned by {@code manager}
     * @param output the run's output, owned by {@code manager}
     * @param manager the cache's own manager, closed with it
     * @param model the model that made it, for the analyses (its config, weights and final norm)
     */
    public ActivationCache(Map<String, NDArray> activations, ModelOutput output, NDManager manager, CacheModel model) {
        this.activations = Collections.unmodifiableMap(new LinkedHashMap<>(activations));
        this.output = output;
        this.manager = manager;
        this.model = model;
    }

    /** The model that made this cache, or null for a cache loaded without one. */
    public CacheModel model() {
        return model;
    }

    // ---- analyses (TransformerLens's ActivationCache methods) --------------------------------

    /**
     * {@code accumulated_resid}: the residual stream entering each block up to {@code layer}, then
     * (for the whole model) the final residual; labels "0_pre", …, "final_post". With
     * {@code applyLn}, what ln_final makes of each (the logit lens before the unembedding).
     */
    public LabelledStack accumulatedResid(StackOptions options) {
        return ResidualStacks.accumulatedResid(this, options);
    }

    /** {@code accumulated_resid()} with TransformerLens's defaults: [n_layers + 1, batch, pos, d_model]. */
    public LabelledStack accumulatedResid() {
        return accumulatedResid(StackOptions.defaults());
    }

    /** {@code decompose_resid()} with TransformerLens's defaults: [n_components, batch, pos, d_model]. */
    public LabelledStack decomposeResid() {
        return decomposeResid(StackOptions.defaults());
    }

    /** {@code stack_head_results()} with TransformerLens's defaults: [n_layers * n_heads, batch, pos, d_model]. */
    public LabelledStack stackHeadResults() {
        return stackHeadResults(StackOptions.defaults());
    }

    /** {@code decompose_resid}: embeddings and each attention/MLP output; they sum to the residual. */
    public LabelledStack decomposeResid(StackOptions options) {
        return ResidualStacks.decomposeResid(this, options);
    }

    /** {@code stack_head_results}: each head's output "L{l}H{h}" (plus "remainder" if asked). */
    public LabelledStack stackHeadResults(StackOptions options) {
        return ResidualStacks.stackHeadResults(this, options);
    }

    /** {@code compute_head_results} for one layer: [batch, pos, head_index, d_model], z · W_O without b_O. */
    public NDArray headResults(int layer) {
        return ResidualStacks.headResults(this, resolve(layer));
    }

    /**
     * {@code apply_ln_to_stack}: components [components, batch, pos, d_model] as the norm before
     * {@code layer} (-1: ln_final) sees them, using the cached scale of the full residual.
     */
    public NDArray applyLnToStack(NDArray stack, int layer, boolean mlpInput, PosSlice posSlice, boolean recomputeLn) {
        int n = model == null ? 0 : model.config().nLayers();
        return ResidualStacks.applyLnToStack(this, stack, layer == -1 ? n : layer, mlpInput,
                posSlice == null ? PosSlice.all() : posSlice, recomputeLn);
    }

    /** {@code get_neuron_results}: each neuron's contribution post · W_out [batch, pos, d_mlp, d_model]. */
    public NDArray neuronResults(int layer, PosSlice posSlice) {
        return ResidualDecompositions.neuronResults(this, resolve(layer), posSlice == null ? PosSlice.all() : posSlice);
    }

    /** {@code stack_neuron_results}: every neuron "L{l}N{n}" of the layers before {@code options.layer()}. */
    public LabelledStack stackNeuronResults(StackOptions options) {
        return ResidualDecompositions.stackNeuronResults(this, options);
    }

    /**
     * {@code get_full_resid_decomposition}: heads, neurons (or MLP outputs), embeddings and biases,
     * summing to the residual stream entering {@code options.layer()}.
     */
    public LabelledStack fullResidDecomposition(StackOptions options, boolean expandNeurons) {
        return ResidualDecompositions.fullResidDecomposition(this, options, expandNeurons);
    }

    /**
     * {@code logit_attrs}: each component's push on the logit of {@code tokens} (minus
     * {@code incorrectTokens}, may be null) through ln_final's cached scale: [components, ...].
     */
    public NDArray logitAttrs(NDArray stack, NDArray tokens, NDArray incorrectTokens, PosSlice posSlice) {
        return ResidualDecompositions.logitAttrs(this, stack, tokens, incorrectTokens,
                posSlice == null ? PosSlice.all() : posSlice);
    }

    /**
     * {@code remove_batch_dim}: the same cache for a batch of one, without the batch axis. The new
     * cache's arrays are views owned by a manager under this one.
     */
    public ActivationCache removeBatchDim() {
        for (Map.Entry<String, NDArray> entry : activations.entrySet()) {
            if (entry.getValue().getShape().dimension() == 0 || entry.getValue().getShape().get(0) != 1) {
                throw new LoupeException("removeBatchDim needs a batch of one, but " + entry.getKey() + " has shape "
                        + entry.getValue().getShape());
            }
        }
        return sliced(a -> a.get(0));
    }

    /** {@code apply_slice_to_batch_dim}: the cache for batch rows {@code start} (inclusive) to {@code stop}. */
    public ActivationCache applySliceToBatchDim(int start, int stop) {
        return sliced(a -> a.get(start + ":" + stop));
    }

    private ActivationCache sliced(java.util.function.UnaryOperator<NDArray> slice) {
        NDManager views = manager.newSubManager();
        Map<String, NDArray> entries = new LinkedHashMap<>();
        activations.forEach((name, value) -> {
            NDArray view = slice.apply(value);
            view.attach(views);
            entries.put(name, view);
        });
        NDArray logits = output.logits() == null ? null : slice.apply(output.logits());
        if (logits != null) {
            logits.attach(views);
        }
        return new ActivationCache(entries, new ModelOutput(logits, null, null), views, model);
    }

    /**
     * Writes every activation (and the logits) under its TransformerLens name to a safetensors file,
     * the format {@code loupe cache} writes and {@code safetensors.numpy.load_file} reads.
     */
    public void save(Path file) {
        Map<String, NDArray> tensors = new LinkedHashMap<>(activations);
        if (output.logits() != null) {
            tensors.put("logits", output.logits());
        }
        SafetensorsWriter.write(file, tensors);
    }

    /**
     * Reads a cache {@link #save} or {@code loupe cache} wrote; {@code model} (may be null) enables the
     * analyses. {@code logits} becomes the output; {@code input_ids} and {@code attention_mask} are skipped.
     */
    public static ActivationCache load(Path file, CacheModel model) {
        NDManager manager = NDManager.newBaseManager();
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            Map<String, NDArray> entries = new LinkedHashMap<>();
            NDArray logits = null;
            for (String name : in.names()) {
                if (name.equals("input_ids") || name.equals("attention_mask")) {
                    continue;
                }
                NDArray value = in.load(name, manager);
                if (name.equals("logits")) {
                    logits = value;
                } else {
                    entries.put(name, value);
                }
            }
            return new ActivationCache(entries, new ModelOutput(logits, null, null), manager, model);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** {@code stack_activation}: {@code name} ("pattern", "resid_pre", …) of every layer, stacked [layer, ...]. */
    public NDArray stackActivation(String name) {
        return ResidualStacks.stackActivation(this, name, -1, null);
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
        if (layer >= 0) {
            return layer;
        }
        if (model == null) {
            throw new LoupeException("Negative layers need the model's layer count; this cache has no model");
        }
        return model.config().nLayers() + layer;
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
