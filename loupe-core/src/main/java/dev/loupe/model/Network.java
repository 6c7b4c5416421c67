package dev.loupe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.PositionalEmbeddingType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.HookPoint;
import dev.loupe.hook.HookRegistry;
import dev.loupe.model.components.AttentionInputs;
import dev.loupe.model.components.Embed;
import dev.loupe.model.components.HookCatalog;
import dev.loupe.model.components.HookFlag;
import dev.loupe.model.components.Norm;
import dev.loupe.model.components.Parameters;
import dev.loupe.model.components.PosEmbed;
import dev.loupe.model.components.TransformerBlock;
import dev.loupe.model.components.Unembed;
import dev.loupe.model.components.Weight;
import dev.loupe.numeric.Scalars;
import dev.loupe.numeric.StateDict;
import dev.loupe.run.KeyValueCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The network itself: the components in the order the residual stream meets them (embeddings, the
 * blocks, the final norm, the unembedding) and the hook points between them. {@link ForwardRun}
 * drives it; {@link HookedTransformer} is the façade researchers use.
 */
final class Network {
    private volatile TransformerConfig config; // immutable; replaced whole when a hook flag changes
    private final Embed embed;
    private final Norm embedLn;
    private final PosEmbed posEmbed;
    private final List<TransformerBlock> blocks = new ArrayList<>();
    private final List<List<HookPoint>> blockPoints = new ArrayList<>(); // every point of block L, at L
    private final Norm lnFinal;
    private final Unembed unembed;
    private final HookPoint hookTokens;
    private final HookPoint hookEmbed;
    private final HookPoint hookPosEmbed;
    private final HookCatalog catalog = new HookCatalog();
    private final HookRegistry registry;
    private final boolean halfWeights;

    /**
     * @param stateDict TransformerLens name to tensor ({@code embed.W_E}, {@code blocks.0.attn.W_Q}, …)
     * @param weights the manager that owns the tensors
     */
    Network(TransformerConfig config, Map<String, NDArray> stateDict, NDManager weights) {
        this.config = config;
        Parameters params = new Parameters(stateDict, weights);
        embed = new Embed(config, params);
        embedLn = config.postEmbeddingLn() ? Norm.create(NormalizationType.LN, "embed.ln", config, params, catalog, false) : null;
        hookEmbed = catalog.add("hook_embed", HookCatalog::residual);
        boolean learnedPositions = config.positionalEmbeddingType() == PositionalEmbeddingType.STANDARD;
        posEmbed = learnedPositions ? new PosEmbed(config, params) : null;
        hookPosEmbed = learnedPositions ? catalog.add("hook_pos_embed", HookCatalog::residual) : null;
        hookTokens = catalog.add("hook_tokens", (c, batch, pos) -> new Shape(batch, pos),
                HookFlag.USE_HOOK_TOKENS);
        for (int layer = 0; layer < config.nLayers(); layer++) {
            blocks.add(new TransformerBlock(layer, config, params, catalog));
        }
        lnFinal = Norm.create(config.finalNormalizationType(), "ln_final", config, params, catalog, false);
        unembed = new Unembed(config, params, catalog);
        registry = new HookRegistry(catalog.entries().stream().map(HookCatalog.Entry::point).toList(),
                name -> whyNotFiring(name, this.config));
        for (int layer = 0; layer < config.nLayers(); layer++) {
            int of = layer;
            blockPoints.add(catalog.entries().stream().map(HookCatalog.Entry::point).filter(p -> p.layer() == of).toList());
        }
        halfWeights = StateDict.anyStored(stateDict, a -> a.getDataType() == DataType.FLOAT16);
    }

    TransformerConfig config() {
        return config;
    }

    /**
     * Replaces the config by {@code change} of it, atomically (hook flags only: the components were
     * built for the shapes of the first). Runs already under way keep the config they started with.
     */
    synchronized void updateConfig(UnaryOperator<TransformerConfig> change) {
        config = change.apply(config);
    }

    HookRegistry registry() {
        return registry;
    }

    /** The catalog entries that fire under {@code cfg}'s flags, in TransformerLens's registration order. */
    List<HookCatalog.Entry> firingEntries(TransformerConfig cfg) {
        return catalog.entries().stream().filter(e -> e.fires(cfg)).toList();
    }

    NDArray applyFinalNorm(NDArray x) {
        return lnFinal == null ? x : lnFinal.forward(x);
    }

    NDArray unembed(NDArray x) {
        return unembed.forward(x);
    }

    /**
     * The transformer, top to bottom. {@code input} is int64 tokens [batch, pos], or the residual
     * [batch, pos, d_model] entering block {@code start}.
     *
     * @param unembedAtEnd whether to finish with the final norm and the unembedding (false when the caller
     *     set {@code stopAtLayer}, as TransformerLens returns the residual whenever it is set)
     * @param cache earlier positions' keys and values (the input holds only new tokens), or null
     * @param cfg the config the run started with (its hook flags)
     * @return logits, or the residual after block {@code stop - 1}
     */
    NDArray compute(NDArray input, int start, int stop, NDArray padding, NDManager pass, boolean unembedAtEnd,
            KeyValueCache cache, TransformerConfig cfg) {
        int batch = (int) input.getShape().get(0);
        int pos = (int) input.getShape().get(1);
        if (cache != null && (start != 0 || stop != cfg.nLayers() || cache.batch() != batch)) {
            throw new LoupeException("A key/value cache needs a run over every layer from tokens, with the cache's batch"
                    + " size " + cache.batch() + " (got startAtLayer " + start + ", stop " + stop + ", batch " + batch + ")");
        }
        int offset = cache == null ? 0 : cache.length();
        long[] newMask = padding == null ? null : padding.toLongArray();
        long[] keep = cache == null ? newMask : cache.maskWith(newMask, pos);
        if (keep != null && Arrays.stream(keep).allMatch(v -> v != 0)) {
            keep = null; // nothing padded: the simpler masks and positions are exact
        }
        NDArray residual;
        if (start == 0) {
            NDArray tokens = cfg.useHookTokens() ? hookTokens.fire(input) : input;
            NDArray tokenEmbed = embed.forward(tokens, pass);
            residual = hookEmbed.fire(embedLn == null ? tokenEmbed
                    : widened(embedLn.weights(), pass, () -> embedLn.forward(tokenEmbed)));
            if (posEmbed != null) {
                residual = residual.add(hookPosEmbed.fire(posEmbed.forward(batch, pos, offset, keep, pass)));
            }
        } else {
            residual = input;
        }
        AttentionInputs attention = AttentionInputs.build(cfg, pass, batch, pos, offset, keep, cache);
        for (int layer = start; layer < stop; layer++) {
            int current = layer;
            NDArray blockInput = residual;
            residual = widened(blocks.get(layer).weights(), pass,
                    () -> forwardBlock(current, blockInput, attention, cfg, pass));
        }
        if (cache != null) {
            cache.advance(pos, cache.maskWith(newMask, pos));
        }
        if (!unembedAtEnd) {
            return residual;
        }
        NDArray finalResidual = residual;
        List<Weight> head = new ArrayList<>(unembed.weights());
        if (lnFinal != null) {
            head.addAll(lnFinal.weights());
        }
        NDArray logits = widened(head, pass,
                () -> unembed.forward(lnFinal == null ? finalResidual : lnFinal.forward(finalResidual)));
        return softCapLogits(logits, cfg, !unembed.outputSeenByHooks(), unembed.logitsContiguous());
    }

    /** Logits capped in place this many at a time: a multiple of every vector loop's width, so the numbers stay. */
    static final int SOFT_CAP_CHUNK = 1 << 20;

    /**
     * Gemma 2's final soft-cap, {@code cap·tanh(logits/cap)} with {@code output_logits_soft_cap}, after
     * the unembedding (and its hooks) as in TransformerLens; logits pass unchanged without one.
     *
     * @param ownsLogits whether no one else holds {@code logits} (no hook saw them): then they are divided in
     *     place and, if {@code contiguous}, capped in place {@link #SOFT_CAP_CHUNK} values at a time, so that a
     *     pass holds the logits once rather than two or three times at its end (131 MB each at Gemma-2-2B and
     *     128 tokens, where a float16 pass peaks)
     * @param contiguous whether {@code logits} is a contiguous array (not a view of padded logits)
     */
    static NDArray softCapLogits(NDArray logits, TransformerConfig cfg, boolean ownsLogits, boolean contiguous) {
        return softCapLogits(logits, cfg, ownsLogits, contiguous, SOFT_CAP_CHUNK);
    }

    /** As {@link #softCapLogits(NDArray, TransformerConfig, boolean, boolean)}, capping {@code chunk} at a time. */
    static NDArray softCapLogits(NDArray logits, TransformerConfig cfg, boolean ownsLogits, boolean contiguous,
            int chunk) {
        if (!cfg.softCapsOutputLogits()) {
            return logits;
        }
        float cap = (float) cfg.outputLogitsSoftCap();
        if (!ownsLogits) {
            return Scalars.muli(Scalars.div(logits, cap).tanh(), cap);
        }
        if (!contiguous) {
            // A reshape of a view would be a copy, and capping the copy would leave the logits as they were.
            try (logits) {
                return Scalars.muli(Scalars.divi(logits, cap).tanh(), cap);
            }
        }
        // libtorch has no in-place tanh that DJL reaches: each chunk's tanh is a small array copied back.
        try (NDArray flat = Scalars.divi(logits, cap).reshape(-1)) {
            long size = flat.size();
            for (long start = 0; start < size; start += chunk) {
                NDIndex part = new NDIndex().addSliceDim(start, Math.min(size, start + chunk));
                try (NDArray values = flat.get(part); NDArray capped = values.tanh()) {
                    flat.set(part, Scalars.muli(capped, cap));
                }
            }
        }
        return logits;
    }

    /**
     * Block {@code layer} on {@code input}. A block that no hook of this run sees runs in a manager of its
     * own, closed when it ends: its intermediate activations are freed layer by layer rather than when the
     * pass ends (at Gemma-2-9B and 1×128, ~95 MB a layer: 4 GB a pass on a machine that has 5 GB beside the
     * weights). A hook may keep what it is given for later in the pass (a splice, a cache, a steering vector
     * read at one layer and added at another), so a block with hooks keeps everything in the pass's manager.
     */
    private NDArray forwardBlock(int layer, NDArray input, AttentionInputs attention, TransformerConfig cfg,
            NDManager pass) {
        TransformerBlock block = blocks.get(layer);
        if (blockPoints.get(layer).stream().anyMatch(HookPoint::hasHooks)) {
            return block.forward(input, attention, cfg);
        }
        try (NDManager own = pass.newSubManager()) {
            input.tempAttach(own); // what is computed from the input lands in the input's manager
            NDArray output = block.forward(input, attention, cfg);
            output.attach(pass);
            return output;
        }
    }

    /**
     * Runs {@code layer} with its float16 weights widened to float32 for just that long (copies of this
     * thread's run, so that runs on other threads neither see nor free them).
     */
    private NDArray widened(List<Weight> weights, NDManager pass, Supplier<NDArray> layer) {
        if (!halfWeights) {
            return layer.get();
        }
        List<Weight> widenedHere = Weight.widen(weights, pass);
        try {
            return layer.get();
        } finally {
            Weight.release(widenedHere);
        }
    }

    /** Null if the point {@code name} fires under {@code cfg}, else the message naming the flag that turns it on. */
    String whyNotFiring(String name, TransformerConfig cfg) {
        HookCatalog.Entry entry = catalog.entry(name);
        if (entry == null || entry.fires(cfg)) {
            return null;
        }
        String field = entry.flag().configField();
        String setter = "set" + Character.toUpperCase(field.charAt(0)) + field.substring(1);
        return "Hook point " + name + " fires only when " + field + " is on: call model." + setter
                + "(true) first (it does not change the logits).";
    }

    int layerIndex(Integer layer, int whenNull, String what) {
        if (layer == null) {
            return whenNull;
        }
        int n = config.nLayers();
        int index = layer < 0 ? n + layer : layer;
        if (index < 0 || index > n) {
            throw new LoupeException(what + " = " + layer + " is outside the model's " + n + " layers");
        }
        return index;
    }
}
