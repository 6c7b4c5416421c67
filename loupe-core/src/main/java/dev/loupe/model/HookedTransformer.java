package dev.loupe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheModel;
import dev.loupe.cache.CacheOptions;
import dev.loupe.config.TransformerConfig;
import dev.loupe.config.WeightDtype;
import dev.loupe.hook.HookPoint;
import dev.loupe.hook.HookRegistry;
import dev.loupe.hook.HookSpec;
import dev.loupe.hook.Splice;
import dev.loupe.hub.ModelResolver;
import dev.loupe.load.LoadedModel;
import dev.loupe.load.ModelLoader;
import dev.loupe.model.components.HookCatalog;
import dev.loupe.numeric.HugePages;
import dev.loupe.numeric.StateDict;
import dev.loupe.process.ProcessOptions;
import dev.loupe.process.ProcessedWeights;
import dev.loupe.process.WeightProcessing;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import dev.loupe.run.ReturnType;
import dev.loupe.tokenize.TextEncoder;
import dev.loupe.tokenize.TextOptions;
import dev.loupe.tokenize.TokenBatch;
import dev.loupe.tokenize.Tokenizer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A transformer whose every activation can be read and changed as it runs, with TransformerLens's
 * hook names, parameter names and semantics.
 *
 * <pre>{@code
 * try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(Path.of("gpt2"));
 *      NDManager manager = NDManager.newBaseManager()) {
 *     NDArray tokens = manager.create(new long[][] {{50256, 15496, 11, 995}});
 *     NDArray logits = model.forward(tokens);                                  // [1, 4, 50257]
 *     NDArray ablated = model.runWithHooks(tokens,
 *             HookSpec.forward("blocks.0.attn.hook_z", (z, hook) -> z.mul(0)));
 *     try (ActivationCache cache = model.runWithCache(tokens)) {
 *         NDArray pattern = cache.get("pattern", 0);                           // [1, 12, 4, 4]
 *     }
 * }
 * }</pre>
 *
 * <p>Outputs belong to the manager of the input tokens; a cache owns its own memory. The model owns
 * its weights and frees them on {@link #close()}; after that every method throws a
 * {@link LoupeException} saying that the model was closed.
 *
 * <p><b>Threads.</b> One model can be shared by several threads: {@code forward}, {@code runWithHooks}
 * and {@code runWithCache} may run at the same time, and each gives exactly what it gives alone. Each
 * run takes the config (hook flags) and the model-level hooks as they are when it starts; the hooks
 * given to {@code runWithHooks}/{@code runWithCache} apply to that run only. Model-level hooks
 * ({@link #addHook}, {@link #addPermanentHook}, {@link #hooks} scopes) and hook flags apply to the
 * runs that start after they changed, on any thread: a scope opened on one thread also hooks the runs
 * that other threads start while it is open (see {@link HookRegistry}). Runs that need gradients
 * (backward hooks, {@code withGradients()}) take turns on one process-wide lock
 * ({@link dev.loupe.numeric.Autograd}); the others do not wait for them. Do not close a model while
 * another thread runs it.
 */
public final class HookedTransformer implements TextMethods, Circuits, CacheModel, AutoCloseable {
    private static final String CLOSED = "This model was closed: HookedTransformer.close() freed its weights";

    static {
        HugePages.request(); // with -Dloupe.hugePages=true; before the first tensor: libtorch reads it once
    }

    private final NDManager weights;
    private final Map<String, NDArray> stateDict;
    private final StateDict parameters; // what stateDict views, scaled entries kept unmade
    private final Network network;
    private volatile Tokenizer tokenizer;
    private volatile boolean closed;
    private volatile List<String> loadWarnings = List.of();

    /**
     * Builds a model from TransformerLens-named parameters.
     *
     * @param config the model's config
     * @param stateDict TransformerLens name to tensor ({@code embed.W_E}, {@code blocks.0.attn.W_Q}, …)
     * @param weights the manager that owns the tensors; the model closes it
     */
    public HookedTransformer(TransformerConfig config, Map<String, NDArray> stateDict, NDManager weights) {
        this.weights = weights;
        this.parameters = StateDict.copyOf(stateDict);
        this.stateDict = Collections.unmodifiableMap(parameters);
        network = new Network(config, parameters, weights);
    }

    /**
     * Loads a Hugging Face model folder ({@code config.json} + safetensors weights) as it is, without
     * TransformerLens's weight processing: logits equal Hugging Face's.
     */
    public static HookedTransformer fromPretrainedNoProcessing(Path dir) {
        return fromPretrainedNoProcessing(dir, WeightDtype.FLOAT32);
    }

    /**
     * Loads a model by name, as TransformerLens's {@code from_pretrained} does, without weight
     * processing: an existing local folder, a TransformerLens official name or alias ({@code gpt2},
     * {@code gpt2-small}, {@code pythia-70m}), or any Hugging Face repository id ({@code org/name}),
     * downloaded into (or, offline, read from) the Hugging Face cache shared with Python. The Hub,
     * cache, offline mode and token come from the environment as huggingface_hub reads them
     * ({@link dev.loupe.hub.HubSettings}).
     */
    public static HookedTransformer fromPretrainedNoProcessing(String name) {
        return fromPretrainedNoProcessing(ModelResolver.fromEnvironment().resolve(name));
    }

    /**
     * As {@link #fromPretrainedNoProcessing(String)}, with TransformerLens's default weight processing
     * (see {@link #fromPretrained(Path)}).
     */
    public static HookedTransformer fromPretrained(String name) {
        return fromPretrained(ModelResolver.fromEnvironment().resolve(name));
    }

    /**
     * Loads a Hugging Face model folder and processes its weights as TransformerLens's
     * {@code from_pretrained} does by default (fold LayerNorm, centre writing weights, centre the
     * unembedding, fold value biases): the residual stream becomes easier to read, predictions are
     * unchanged, and logits are centred over the vocabulary (Hugging Face's minus their mean).
     */
    public static HookedTransformer fromPretrained(Path dir) {
        return fromPretrained(dir, ProcessOptions.defaults(), WeightDtype.FLOAT32);
    }

    /** As {@link #fromPretrained(Path)} with the processing steps {@code options} chooses. */
    public static HookedTransformer fromPretrained(Path dir, ProcessOptions options) {
        return fromPretrained(dir, options, WeightDtype.FLOAT32);
    }

    /** As {@link #fromPretrained(Path, ProcessOptions)}, keeping the weights in memory as {@code dtype}. */
    public static HookedTransformer fromPretrained(Path dir, ProcessOptions options, WeightDtype dtype) {
        return build(ModelLoader.read(dir, dtype), options);
    }

    /**
     * A new model with this one's weights processed as {@code options} says (TransformerLens's
     * {@code process_weights_}, without changing this model: the weights are copied first). The
     * tokenizer is not shared; give the new model one if it needs it.
     */
    public HookedTransformer processWeights(ProcessOptions options) {
        checkOpen();
        NDManager copies = NDManager.newBaseManager();
        try {
            StateDict copied = parameters.map(value -> {
                NDArray copy = value.duplicate();
                copy.attach(copies);
                return copy;
            });
            ProcessedWeights processed = WeightProcessing.process(new ProcessedWeights(copied, config()), options);
            return new HookedTransformer(processed.config(), processed.stateDict(), copies);
        } catch (RuntimeException e) {
            copies.close();
            throw e;
        }
    }

    /**
     * As {@link #fromPretrainedNoProcessing(Path)}, keeping the weights in memory as {@code dtype}
     * ({@link WeightDtype#FLOAT16} halves the memory; each layer is widened to float32 as it runs).
     */
    public static HookedTransformer fromPretrainedNoProcessing(Path dir, WeightDtype dtype) {
        return build(ModelLoader.read(dir, dtype), ProcessOptions.none());
    }

    /** Builds the model from what was read, processing its weights first; takes over weights and tokenizer. */
    private static HookedTransformer build(LoadedModel loaded, ProcessOptions processing) {
        try {
            ProcessedWeights processed = WeightProcessing.process(
                    new ProcessedWeights(loaded.stateDict(), loaded.config()), processing);
            HookedTransformer model = new HookedTransformer(processed.config(), processed.stateDict(), loaded.weights());
            if (loaded.tokenizer() != null) {
                model.setTokenizer(loaded.tokenizer());
            }
            model.loadWarnings = loaded.warnings();
            return model;
        } catch (RuntimeException e) {
            loaded.close();
            throw e;
        }
    }

    /**
     * What loading this model did that its user should be told, one line each; empty for a model not
     * loaded from a folder, and usually for one that was. Today: a {@link WeightDtype#FLOAT16} load that
     * kept tensors in float32 because float16 cannot hold their values (one line naming them). The
     * CLI prints these on stderr.
     */
    public List<String> loadWarnings() {
        checkOpen();
        return loadWarnings;
    }

    /** The model's config, with its current hook flags. */
    public TransformerConfig config() {
        checkOpen();
        return network.config();
    }

    /**
     * Parameters by TransformerLens name (read-only view; do not change the tensors in place). Where
     * the checkpoint ties the unembedding to the embedding and the weights are unprocessed,
     * {@code unembed.W_U} is a transposed view of {@code embed.W_E} (one stored copy); reading such a
     * strided view's bytes ({@code toFloatArray}) makes DJL gather a copy into the weights' manager,
     * kept until the model is closed, so read it through a view in your own manager
     * ({@code get(manager, new NDIndex())}) or a copy ({@link #W_U(NDManager)}).
     */
    public Map<String, NDArray> stateDict() {
        checkOpen();
        return stateDict;
    }

    /** The manager that owns the weights (tests cap it to prove no forward pass allocates there). */
    public NDManager weightsManager() {
        checkOpen();
        return weights;
    }

    // ---- hook flags -------------------------------------------------------------------------

    /** Fire {@code attn.hook_result} [batch, pos, head_index, d_model] (each head's output). */
    public void setUseAttnResult(boolean on) {
        setFlag(c -> c.toBuilder().useAttnResult(on).build());
    }

    /** Fire {@code hook_q_input}, {@code hook_k_input}, {@code hook_v_input} (per-head copies of resid_pre). */
    public void setUseSplitQkvInput(boolean on) {
        setFlag(c -> c.toBuilder().useSplitQkvInput(on).build());
    }

    /** Fire {@code hook_attn_in} [batch, pos, head_index, d_model]. */
    public void setUseAttnIn(boolean on) {
        setFlag(c -> c.toBuilder().useAttnIn(on).build());
    }

    /** Fire {@code hook_mlp_in} [batch, pos, d_model]. */
    public void setUseHookMlpIn(boolean on) {
        setFlag(c -> c.toBuilder().useHookMlpIn(on).build());
    }

    /**
     * Give keys and values one head per query head before {@code hook_k}/{@code hook_v} (and their
     * inputs), as TransformerLens's {@code ungroup_grouped_query_attention}; the logits do not change.
     */
    public void setUngroupGroupedQueryAttention(boolean on) {
        setFlag(c -> c.toBuilder().ungroupGroupedQueryAttention(on).build());
    }

    /** Fire {@code hook_tokens} [batch, pos]. */
    public void setUseHookTokens(boolean on) {
        setFlag(c -> c.toBuilder().useHookTokens(on).build());
    }

    /** Replaces the config with one whose flag {@code change} sets, atomically; runs that start afterwards see it. */
    private void setFlag(UnaryOperator<TransformerConfig> change) {
        checkOpen();
        network.updateConfig(change);
    }

    // ---- hook points and hooks --------------------------------------------------------------

    /** Every hook point that fires under the current flags, in TransformerLens's registration order. */
    public List<String> hookNames() {
        checkOpen();
        return network.firingEntries(network.config()).stream().map(e -> e.point().name()).toList();
    }

    /** Every firing hook point with its activation's shape for a [batch, pos] input. */
    public Map<String, Shape> hookShapes(long batch, long pos) {
        checkOpen();
        TransformerConfig cfg = network.config();
        Map<String, Shape> shapes = new LinkedHashMap<>();
        for (HookCatalog.Entry entry : network.firingEntries(cfg)) {
            shapes.put(entry.point().name(), entry.shape().of(cfg, batch, pos));
        }
        return shapes;
    }

    /** The hook point called {@code name}; unknown names raise an error listing the closest ones. */
    public HookPoint hookPoint(String name) {
        checkOpen();
        return network.registry().point(name);
    }

    /** The hooks registry (advanced use: scopes by hand). */
    public HookRegistry hookRegistry() {
        checkOpen();
        return network.registry();
    }

    /**
     * Attaches hooks until the returned scope closes; scopes nest, and closing one removes only the
     * hooks added inside it. They apply to the runs that start while it is open, on any thread.
     *
     * <pre>{@code
     * try (HookScope scope = model.hooks(HookSpec.forward("blocks.0.attn.hook_z", ablate))) {
     *     model.forward(a);
     *     model.forward(b);
     * }
     * }</pre>
     */
    public HookScope hooks(HookSpec... specs) {
        return hooks(List.of(specs));
    }

    /** As {@link #hooks(HookSpec...)}. */
    public HookScope hooks(List<HookSpec> specs) {
        checkOpen();
        HookRegistry registry = network.registry();
        HookRegistry.Scope scope = registry.openScope();
        try {
            specs.forEach(registry::add);
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
        return new HookScope(scope);
    }

    /**
     * Splices modules in place of hook points until the returned scope closes ({@link Splice}: each
     * replaces its target's activation with its output and brings hook points of its own). Scopes nest
     * with {@link #hooks} scopes; splices apply to the runs that start while the scope is open, on any
     * thread, and hooks added inside the scope may name the splices' points.
     *
     * @throws LoupeException if a target is unknown, already spliced, or has a model-level hook
     */
    public HookScope splices(List<? extends Splice> splices) {
        checkOpen();
        HookRegistry registry = network.registry();
        HookRegistry.Scope scope = registry.openScope();
        try {
            splices.forEach(registry::addSplice);
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
        return new HookScope(scope);
    }

    /**
     * Attaches a hook until {@link #resetHooks()} (inside a scope opened on this thread: until the scope
     * closes), for the runs that start afterwards.
     */
    public void addHook(HookSpec spec) {
        checkOpen();
        network.registry().add(spec);
    }

    /** Attaches a hook that only {@code resetHooks(true)} removes. */
    public void addPermanentHook(HookSpec spec) {
        checkOpen();
        network.registry().addPermanent(spec);
    }

    /** Removes every hook but the permanent ones. */
    public void resetHooks() {
        checkOpen();
        network.registry().reset(false);
    }

    /** Removes every hook, permanent ones too if asked. */
    public void resetHooks(boolean includingPermanent) {
        checkOpen();
        network.registry().reset(includingPermanent);
    }

    // ---- running ----------------------------------------------------------------------------

    /** Logits [batch, pos, d_vocab_out] for int64 tokens [batch, pos] (or [pos]). */
    public NDArray forward(NDArray tokens) {
        return forward(tokens, ForwardOptions.defaults()).logits();
    }

    /** A forward pass with options; see {@link ForwardOptions}. */
    public ModelOutput forward(NDArray input, ForwardOptions options) {
        return run(input, options, List.of(), List.of(), null, false).output();
    }

    /** The mean next-token loss of tokens [batch, pos]. */
    public NDArray loss(NDArray tokens) {
        return forward(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS).build()).loss();
    }

    /**
     * The next-token loss of tokens [batch, pos]: the mean, or with {@code lossPerToken} each token's
     * [batch, pos - 1], as TransformerLens's {@code model(tokens, return_type="loss", loss_per_token=True)}.
     */
    public NDArray loss(NDArray tokens, boolean lossPerToken) {
        return forward(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS).lossPerToken(lossPerToken).build())
                .loss();
    }

    /** Logits with {@code hooks} attached for this run only (removed afterwards, also on error). */
    public NDArray runWithHooks(NDArray tokens, HookSpec... hooks) {
        return runWithHooks(tokens, ForwardOptions.defaults(), List.of(hooks)).logits();
    }

    /**
     * What {@code returnType} asks for (logits [batch, pos, d_vocab_out] and/or the mean loss) with
     * {@code hooks} attached for this run only, as TransformerLens's
     * {@code run_with_hooks(tokens, return_type="loss", fwd_hooks=...)}.
     */
    public ModelOutput runWithHooks(NDArray tokens, ReturnType returnType, HookSpec... hooks) {
        return runWithHooks(tokens, ForwardOptions.builder().returnType(returnType).build(), List.of(hooks));
    }

    /**
     * A forward pass with {@code hooks} attached for this run only. Backward hooks receive the
     * gradient of {@code options.metric()} (the mean loss by default).
     */
    public ModelOutput runWithHooks(NDArray input, ForwardOptions options, List<HookSpec> hooks) {
        return run(input, options, hooks, List.of(), null, false).output();
    }

    /**
     * A forward pass with {@code splices} in place of their targets and {@code hooks} attached, both for
     * this run only; the hooks may name the splices' own points ({@link Splice}).
     */
    public ModelOutput runWithHooks(NDArray input, ForwardOptions options, List<HookSpec> hooks,
            List<? extends Splice> splices) {
        return run(input, options, hooks, List.copyOf(splices), null, false).output();
    }

    /** Every activation of a forward pass on tokens [batch, pos], and its logits. */
    public ActivationCache runWithCache(NDArray tokens) {
        return runWithCache(tokens, CacheOptions.all());
    }

    /** The activations {@code options} selects (and their gradients if asked), and the output. */
    public ActivationCache runWithCache(NDArray input, CacheOptions options) {
        return runWithCache(input, options, List.of());
    }

    /** As {@link #runWithCache(NDArray, CacheOptions)} with extra hooks for this run. */
    public ActivationCache runWithCache(NDArray input, CacheOptions options, List<HookSpec> hooks) {
        return run(input, options.forward(), hooks, List.of(), options, false).cache();
    }

    /**
     * As {@link #runWithCache(NDArray, CacheOptions, List)} with {@code splices} in place of their targets
     * for this run: the cache holds the splices' own points, not the points they replace.
     */
    public ActivationCache runWithCache(NDArray input, CacheOptions options, List<HookSpec> hooks,
            List<? extends Splice> splices) {
        return run(input, options.forward(), hooks, List.copyOf(splices), options, false).cache();
    }

    /** One run, on the model as it is now (see {@link ForwardRun}). */
    private ForwardRun.Result run(NDArray input, ForwardOptions options, List<HookSpec> hooks, List<Splice> splices,
            CacheOptions cache, boolean cacheOwnsInput) {
        checkOpen();
        try {
            return ForwardRun.run(network, this, input, options, hooks, splices, cache, cacheOwnsInput);
        } catch (RuntimeException e) {
            if (closed) {
                throw new LoupeException(CLOSED + " while this run was going on", e);
            }
            throw e;
        }
    }

    @Override
    public NDArray applyFinalNorm(NDArray x) {
        checkOpen();
        return network.applyFinalNorm(x);
    }

    /**
     * The model's unembedding of an already normalised residual, x [batch, pos, d_model] → logits
     * [batch, pos, d_vocab_out], as the forward pass computes it ({@code W_U} padded to an aligned
     * width for speed, an all-zero {@code b_U} skipped); a lens's read-out. Runs under autograd.
     */
    public NDArray unembed(NDArray x) {
        checkOpen();
        return network.unembed(x);
    }

    /** Frees the weights (and the tokenizer); every later call throws. Closing twice does nothing. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        weights.close();
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) {
            throw new LoupeException(CLOSED + "; load it again (fromPretrained...) to run it.");
        }
    }

    // ---- text (the methods themselves are in TextMethods) -----------------------------------

    /** Gives the model a tokenizer (the model closes it); replaces and closes any previous one. */
    public synchronized void setTokenizer(Tokenizer newTokenizer) {
        checkOpen();
        if (tokenizer != null && tokenizer != newTokenizer) {
            tokenizer.close();
        }
        tokenizer = newTokenizer;
    }

    /**
     * Whether the model has a tokenizer: its folder had {@code tokenizer.json} (or {@code vocab.json}
     * with {@code merges.txt}), or one was given with {@link #setTokenizer}. Without one, the text
     * methods and {@link #tokenizer()} throw.
     */
    public boolean hasTokenizer() {
        checkOpen();
        return tokenizer != null;
    }

    /** The model's tokenizer; throws if it has none (see {@link #hasTokenizer()}). */
    public Tokenizer tokenizer() {
        checkOpen();
        if (tokenizer == null) {
            throw new LoupeException("This model has no tokenizer: its folder had no tokenizer.json (nor vocab.json with "
                    + "merges.txt). Give it one with model.setTokenizer(Tokenizer.fromModelDir(dir)).");
        }
        return tokenizer;
    }

    @Override
    public TextEncoder textEncoder() {
        checkOpen();
        return new TextEncoder(tokenizer(), config().defaultPrependBos(), config().nCtx());
    }

    @Override
    public ActivationCache runWithCache(List<String> texts, TextOptions text, CacheOptions options) {
        checkOpen();
        TokenBatch batch = toTokens(texts, text);
        NDManager owner = NDManager.newBaseManager();
        try {
            ForwardOptions forward = options.forward();
            if (batch.isPadded() && forward.attentionMask() == null) {
                forward = forward.toBuilder().attentionMask(batch.maskArray(owner)).build();
            }
            return run(batch.idsArray(owner), forward, List.of(), List.of(), options, true).cache();
        } catch (RuntimeException e) {
            owner.close();
            throw e;
        }
    }

    // ---- the forward pass itself ------------------------------------------------------------
}
