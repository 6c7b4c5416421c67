package dev.loupe.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import dev.loupe.LoupeException;
import dev.loupe.model.HookedTransformer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tuned lens: one affine translator per layer, {@code h + A·h + b}, then the model's final norm
 * and unembedding. {@code A} [d_model, d_model] (laid out as torch's {@code Linear.weight}, out × in)
 * and {@code b} [d_model] start at zero, so an untrained tuned lens is the logit lens.
 *
 * <p>Reads and writes the Python library's format ({@code config.json} + {@code params.pt}), see
 * {@link #load} and {@link #save}. A lens remembers the model it fits: its width, layer count,
 * unembedding fingerprint, the basis (weight processing) of the residual it was trained on, and the
 * hook it reads; using it with a model that differs in any of these is a {@link LensMismatchException}.
 *
 * <p>The translators' parameters are live arrays that a trainer may read, set, and attach gradients
 * to ({@link #weight}, {@link #bias}, {@link #parameters}). The forward pass does nothing in place,
 * so it runs under autograd. The lens owns its parameters: close it to free them.
 */
public final class TunedLens implements Lens, AutoCloseable {
    private final Unembedding unembedding;
    private final TunedLensConfig config;
    private final NDManager parameters;
    private final List<NDArray> weights = new ArrayList<>();
    private final List<NDArray> biases = new ArrayList<>();

    private TunedLens(Unembedding unembedding, TunedLensConfig config, NDManager parameters) {
        this.unembedding = unembedding;
        this.config = config;
        this.parameters = parameters;
    }

    /** An untrained lens for {@code model} reading {@code resid_pre}: every translator zero (the logit lens). */
    public static TunedLens create(HookedTransformer model) {
        return create(model, LensHook.RESID_PRE, true);
    }

    /**
     * An untrained lens for {@code model} reading {@code hook}, with or without translator biases.
     * It records the model's basis and unembedding fingerprint.
     */
    public static TunedLens create(HookedTransformer model, LensHook hook, boolean bias) {
        hook.checkSupported(model.config());
        Unembedding unembedding = Unembedding.of(model);
        int d = model.config().dModel();
        TunedLensConfig config = new TunedLensConfig(model.config().modelName(), d, model.config().nLayers(), bias,
                null, null, TunedLensConfig.LINEAR_TUNED_LENS, unembedding.fingerprint(), unembedding.basis(), hook);
        NDManager manager = NDManager.newBaseManager();
        TunedLens lens = new TunedLens(unembedding, config, manager);
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            lens.weights.add(manager.zeros(new Shape(d, d)));
            lens.biases.add(bias ? manager.zeros(new Shape(d)) : null);
        }
        return lens;
    }

    /**
     * Builds a lens from a config and its state dict ({@code "0.weight"} [d_model, d_model],
     * {@code "0.bias"} [d_model], …), after checking that it fits {@code model}.
     *
     * @param source where the lens came from, for messages
     * @throws LensMismatchException if the lens was made for another model or basis
     * @throws LoupeException if the state dict lacks a translator, has extra tensors or wrong shapes
     */
    public static TunedLens of(TunedLensConfig config, Map<String, NDArray> stateDict, HookedTransformer model,
            String source) {
        Unembedding unembedding = Unembedding.of(model);
        LensCompatibility.check(config, unembedding, source);
        NDManager manager = NDManager.newBaseManager();
        try {
            TunedLens lens = new TunedLens(unembedding, config, manager);
            int d = config.dModel();
            List<String> expected = new ArrayList<>();
            for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
                lens.weights.add(copyIn(stateDict, layer + ".weight", new Shape(d, d), manager, source));
                expected.add(layer + ".weight");
                if (config.bias()) {
                    lens.biases.add(copyIn(stateDict, layer + ".bias", new Shape(d), manager, source));
                    expected.add(layer + ".bias");
                } else {
                    lens.biases.add(null);
                }
            }
            List<String> unexpected = stateDict.keySet().stream().filter(k -> !expected.contains(k)).toList();
            if (!unexpected.isEmpty()) {
                throw new LoupeException(source + " has tensors a " + config.numHiddenLayers() + "-layer lens"
                        + (config.bias() ? "" : " without bias") + " does not have: " + unexpected
                        + " (expected " + expected.get(0) + " … " + expected.get(expected.size() - 1) + ")");
            }
            return lens;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Loads a lens folder ({@code config.json} with {@code params.pt} or {@code params.safetensors}),
     * as the Python library's {@code TunedLens.from_model_and_pretrained} does, for {@code model}.
     */
    public static TunedLens load(Path dir, HookedTransformer model) {
        return TunedLensFiles.load(dir, model);
    }

    /**
     * The Python library's pretrained lens for {@code model} from the Hugging Face Hub (its {@code
     * TunedLens.from_model_and_pretrained}): {@code lens/<model's Hub id>/} of the library's space, see
     * {@link PretrainedLenses}. The model must be loaded unprocessed, as the lens was trained.
     */
    public static TunedLens fromPretrained(HookedTransformer model) {
        return fromPretrained(PretrainedLenses.resourceId(model.config().modelName()), model,
                dev.loupe.hub.HubClient.fromEnvironment());
    }

    /** The lens {@code resourceId} (a lens folder or a model's Hub id) for {@code model}, fetched with {@code client}. */
    public static TunedLens fromPretrained(String resourceId, HookedTransformer model, dev.loupe.hub.HubClient client) {
        return load(PretrainedLenses.folder(resourceId, client), model);
    }

    /** Writes {@code config.json} and {@code params.pt}, which the Python library loads. */
    public void save(Path dir) {
        TunedLensFiles.save(this, dir, TunedLensFiles.Format.TORCH);
    }

    /** Writes {@code config.json} and the parameters in {@code format}. */
    public void save(Path dir, TunedLensFiles.Format format) {
        TunedLensFiles.save(this, dir, format);
    }

    @Override
    public int numLayers() {
        return config.numHiddenLayers();
    }

    @Override
    public LensHook hook() {
        return config.hook();
    }

    @Override
    public Unembedding unembedding() {
        return unembedding;
    }

    /** The lens's config (what config.json holds). */
    public TunedLensConfig config() {
        return config;
    }

    /** {@code h + A·h + b} for h [batch, pos, d_model] read at {@code layer}. */
    @Override
    public NDArray transformHidden(NDArray h, int layer) {
        int index = layerIndex(layer);
        long last = h.getShape().get(h.getShape().dimension() - 1);
        if (last != config.dModel()) {
            throw new LoupeException("The residual has width " + last + " (shape " + h.getShape() + ") but this lens"
                    + " reads d_model = " + config.dModel());
        }
        // torch's Linear: h·Aᵀ + b, computed from the activation so the result is the caller's.
        NDArray translated = Linear.linear(h, weights.get(index), biases.get(index)).singletonOrThrow();
        return h.add(translated);
    }

    /** Translator {@code layer}'s {@code A} [d_model, d_model] (out × in, as torch's Linear.weight); live. */
    public NDArray weight(int layer) {
        return weights.get(layerIndex(layer));
    }

    /** Translator {@code layer}'s {@code b} [d_model], or null for a lens without bias; live. */
    public NDArray bias(int layer) {
        return biases.get(layerIndex(layer));
    }

    /** Copies {@code value} [d_model, d_model] into translator {@code layer}'s {@code A}. */
    public void setWeight(int layer, NDArray value) {
        copyInto(weight(layer), value, layer + ".weight");
    }

    /** Copies {@code value} [d_model] into translator {@code layer}'s {@code b}. */
    public void setBias(int layer, NDArray value) {
        NDArray bias = bias(layer);
        if (bias == null) {
            throw new LoupeException("This lens has no translator biases (bias = false)");
        }
        copyInto(bias, value, layer + ".bias");
    }

    /** Every parameter, live, in state-dict order: A₀, b₀, A₁, b₁, … */
    public List<NDArray> parameters() {
        return List.copyOf(stateDict().values());
    }

    /** The parameters by the Python library's names ({@code "0.weight"}, {@code "0.bias"}, …); live. */
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> named = new LinkedHashMap<>();
        for (int layer = 0; layer < weights.size(); layer++) {
            named.put(layer + ".weight", weights.get(layer));
            if (biases.get(layer) != null) {
                named.put(layer + ".bias", biases.get(layer));
            }
        }
        return named;
    }

    /** The manager that owns the parameters. */
    public NDManager parametersManager() {
        return parameters;
    }

    /** Frees the parameters (not the model). */
    @Override
    public void close() {
        parameters.close();
    }

    private static NDArray copyIn(Map<String, NDArray> stateDict, String name, Shape shape, NDManager manager,
            String source) {
        NDArray value = stateDict.get(name);
        if (value == null) {
            throw new LoupeException(source + " has no tensor '" + name + "' (it holds " + stateDict.keySet() + ")");
        }
        if (!value.getShape().equals(shape)) {
            throw new LensMismatchException(source + ": '" + name + "' has shape " + value.getShape() + ", expected "
                    + shape + " for d_model " + shape.get(0));
        }
        return manager.create(value.toType(DataType.FLOAT32, false).toFloatArray(), shape);
    }

    private void copyInto(NDArray target, NDArray value, String name) {
        if (!value.getShape().equals(target.getShape())) {
            throw new LoupeException("'" + name + "' needs shape " + target.getShape() + ", got " + value.getShape());
        }
        target.set(value.toType(DataType.FLOAT32, false).toFloatArray());
    }
}
