package dev.loupe.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.loupe.LoupeException;
import dev.loupe.cache.ActivationCache;
import dev.loupe.cache.CacheOptions;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.hook.Hook;
import dev.loupe.hook.HookSpec;
import dev.loupe.model.HookedTransformer;
import dev.loupe.run.ForwardOptions;
import dev.loupe.run.ModelOutput;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Activation patching, as TransformerLens's {@code transformer_lens.patching}: run the model on the
 * corrupted tokens, replace one slice of one activation by the clean run's, and measure the metric;
 * once per index of a sweep over layers, positions, heads.
 *
 * <pre>{@code
 * try (ActivationCache clean = model.runWithCache(cleanTokens)) {
 *     PatchMetric metric = PatchMetric.logitDiff(parisId, romeId);
 *     NDArray residPre = Patching.residPre(model, corruptedTokens, clean, metric);      // [n_layers, pos]
 *     NDArray heads = Patching.attnHeadOutAllPos(model, corruptedTokens, clean, metric); // [n_layers, n_heads]
 *     NDArray custom = Patching.generic(model, corruptedTokens, clean, metric, "z",
 *             List.of(Axis.LAYER, Axis.POS, Axis.HEAD), PatchSetters.LAYER_POS_HEAD_VECTOR); // [n_layers, pos, n_heads]
 * }
 * }</pre>
 *
 * <p>TransformerLens runs one full forward pass per index. By default this runs far fewer and
 * shorter ones, with the same results up to float rounding:
 * <ul>
 * <li>a patch inside block L leaves blocks 0 … L-1 as in the corrupted run, so one cached corrupted
 *     run gives the residual stream entering each block, and patched runs start at block L;</li>
 * <li>the patched runs of one layer are stacked along the batch dimension (the corrupted input
 *     repeated, each copy patched at its own index through one mask), bounded by
 *     {@link PatchOptions#maxRunsPerBatch()} and {@link PatchOptions#maxBatchBytes()}; the metric is
 *     taken on each copy's rows ({@link PatchMetric#applyEach});</li>
 * <li>a patch whose clean and corrupted slices are identical changes nothing: its result is the
 *     corrupted run's metric, without a run ({@link PatchOptions#skipUnchanged()});</li>
 * <li>when the metric names the positions it reads ({@link PatchMetric#positions()}, e.g. the last
 *     one for {@link PatchMetric#logitDiff}), only those positions are unembedded.</li>
 * </ul>
 * {@link PatchOptions#naiveLoop()} runs TransformerLens's loop instead.
 *
 * <p>Results are float32 arrays owned by the corrupted tokens' manager. The clean cache must hold
 * the patched activation for every layer, with the corrupted tokens' batch (or batch 1).
 */
public final class Patching {
    private static final Pattern RESID_PRE = Pattern.compile("blocks\\.\\d+\\.hook_resid_pre");
    private static final Pattern BLOCK = Pattern.compile("blocks\\.(\\d+)\\..*");

    private Patching() {}

    // ---- the generic sweep ------------------------------------------------------------------

    /**
     * {@link #generic(HookedTransformer, NDArray, ActivationCache, PatchMetric, String, List, PatchSetter, PatchOptions)}
     * with default options.
     */
    public static NDArray generic(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric, String activationName, List<Axis> axes, PatchSetter setter) {
        return generic(model, corruptedTokens, cleanCache, metric, activationName, axes, setter,
                PatchOptions.defaults());
    }

    /**
     * TransformerLens's {@code generic_activation_patch}: for every index in the cartesian product of
     * the axes' ranges (last axis fastest), runs the corrupted tokens with the activation
     * {@code ActName.of(activationName, index[0])} patched by {@code setter}, and records the metric.
     *
     * @param corruptedTokens int64 [batch, pos] (or [pos])
     * @param cleanCache the clean run's cache, holding the patched activation of every layer
     * @param metric a scalar from one run's logits [batch, pos, d_vocab_out]
     * @param activationName {@code ActName} shorthand: {@code "resid_pre"}, {@code "z"}, {@code "pattern"}, …
     * @param axes the axes swept; the first must be {@link Axis#LAYER}. Ranges: n_layers; pos (the
     *     tokens' last dimension) for pos, src_pos and dest_pos; the activation's head count for head
     *     (n_key_value_heads for {@code k} and {@code v} under grouped-query attention)
     * @param setter how an index patches the activation ({@link PatchSetters})
     * @return the metric per index, shaped [range of axes[0], range of axes[1], …]
     */
    public static NDArray generic(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric, String activationName, List<Axis> axes, PatchSetter setter,
            PatchOptions options) {
        if (axes.isEmpty() || axes.get(0) != Axis.LAYER) {
            throw new LoupeException("The first patching axis must be LAYER (the patched hook depends on it), got "
                    + axes);
        }
        NDArray tokens = corruptedTokens.getShape().dimension() == 1 ? corruptedTokens.expandDims(0) : corruptedTokens;
        try {
            long[] ranges = ranges(model, tokens, cleanCache, activationName, axes);
            Sweep sweep = new Sweep(model, tokens, cleanCache, metric, activationName, Sweep.product(ranges), setter);
            float[] results = options.naive() ? sweep.naive() : sweep.fast(options);
            return corruptedTokens.getManager().create(results, new Shape(ranges));
        } finally {
            if (tokens != corruptedTokens) {
                tokens.close();
            }
        }
    }

    /**
     * TransformerLens's {@code generic_activation_patch} with an {@code index_df}: patches exactly
     * the given indices (each layer first, then what the setter takes) and returns their metrics
     * flattened, [indices.size()], in the same order.
     */
    public static NDArray genericAt(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric, String activationName, List<int[]> indices, PatchSetter setter,
            PatchOptions options) {
        NDArray tokens = corruptedTokens.getShape().dimension() == 1 ? corruptedTokens.expandDims(0) : corruptedTokens;
        try {
            Sweep sweep = new Sweep(model, tokens, cleanCache, metric, activationName, List.copyOf(indices), setter);
            float[] results = options.naive() ? sweep.naive() : sweep.fast(options);
            return corruptedTokens.getManager().create(results, new Shape(results.length));
        } finally {
            if (tokens != corruptedTokens) {
                tokens.close();
            }
        }
    }

    private static long[] ranges(HookedTransformer model, NDArray tokens, ActivationCache clean,
            String activationName, List<Axis> axes) {
        TransformerConfig cfg = model.config();
        long pos = tokens.getShape().get(tokens.getShape().dimension() - 1);
        long[] ranges = new long[axes.size()];
        for (int i = 0; i < ranges.length; i++) {
            ranges[i] = switch (axes.get(i)) {
                case LAYER -> cfg.nLayers();
                case POS, SRC_POS, DEST_POS -> pos;
                case HEAD -> heads(cfg, clean, activationName);
            };
        }
        return ranges;
    }

    /** Keys and values have n_key_value_heads heads under grouped-query attention, unless ungrouped. */
    private static long heads(TransformerConfig cfg, ActivationCache clean, String activationName) {
        String hook = ActName.of(activationName, 0);
        if ((hook.endsWith(".hook_k") || hook.endsWith(".hook_v")) && clean.containsKey(hook)) {
            return clean.get(hook).getShape().get(2);
        }
        return cfg.nHeads();
    }

    // ---- get_act_patch_* --------------------------------------------------------------------

    /** {@code get_act_patch_resid_pre}: [n_layers, pos]. */
    public static NDArray residPre(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric) {
        return PatchFamily.RESID_PRE.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_resid_mid}: [n_layers, pos]. */
    public static NDArray residMid(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric) {
        return PatchFamily.RESID_MID.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_out}: [n_layers, pos]. */
    public static NDArray attnOut(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric) {
        return PatchFamily.ATTN_OUT.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_mlp_out}: [n_layers, pos]. */
    public static NDArray mlpOut(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric) {
        return PatchFamily.MLP_OUT.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_out_by_pos}: [n_layers, pos, n_heads]. */
    public static NDArray attnHeadOutByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_OUT_BY_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_q_by_pos}: [n_layers, pos, n_heads]. */
    public static NDArray attnHeadQByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_Q_BY_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_k_by_pos}: [n_layers, pos, n_key_value_heads]. */
    public static NDArray attnHeadKByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_K_BY_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_v_by_pos}: [n_layers, pos, n_key_value_heads]. */
    public static NDArray attnHeadVByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_V_BY_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_pattern_by_pos}: [n_layers, n_heads, dest_pos]. */
    public static NDArray attnHeadPatternByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_PATTERN_BY_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_pattern_dest_src_pos}: [n_layers, n_heads, dest_pos, src_pos]. */
    public static NDArray attnHeadPatternDestSrcPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_PATTERN_DEST_SRC_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_out_all_pos}: [n_layers, n_heads]. */
    public static NDArray attnHeadOutAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_OUT_ALL_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_q_all_pos}: [n_layers, n_heads]. */
    public static NDArray attnHeadQAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_Q_ALL_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_k_all_pos}: [n_layers, n_key_value_heads]. */
    public static NDArray attnHeadKAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_K_ALL_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_v_all_pos}: [n_layers, n_key_value_heads]. */
    public static NDArray attnHeadVAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_V_ALL_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_head_pattern_all_pos}: [n_layers, n_heads]. */
    public static NDArray attnHeadPatternAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return PatchFamily.ATTN_HEAD_PATTERN_ALL_POS.run(model, corruptedTokens, cleanCache, metric);
    }

    // ---- aggregates -------------------------------------------------------------------------

    /** {@link #blockEvery(HookedTransformer, NDArray, ActivationCache, PatchMetric, PatchOptions)} with default options. */
    public static NDArray blockEvery(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric) {
        return blockEvery(model, corruptedTokens, cleanCache, metric, PatchOptions.defaults());
    }

    /** {@code get_act_patch_block_every}: resid_pre, attn_out and mlp_out stacked, [3, n_layers, pos]. */
    public static NDArray blockEvery(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchMetric metric, PatchOptions options) {
        return stack(List.of(
                PatchFamily.RESID_PRE.run(model, corruptedTokens, cleanCache, metric, options),
                PatchFamily.ATTN_OUT.run(model, corruptedTokens, cleanCache, metric, options),
                PatchFamily.MLP_OUT.run(model, corruptedTokens, cleanCache, metric, options)));
    }

    /**
     * {@link #attnHeadAllPosEvery(HookedTransformer, NDArray, ActivationCache, PatchMetric, PatchOptions)} with
     * default options.
     */
    public static NDArray attnHeadAllPosEvery(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return attnHeadAllPosEvery(model, corruptedTokens, cleanCache, metric, PatchOptions.defaults());
    }

    /**
     * {@code get_act_patch_attn_head_all_pos_every}: output, query, key, value and pattern of every
     * head, all positions at once, stacked: [5, n_layers, n_heads]. Under grouped-query attention the
     * key and value rows hold n_key_value_heads results followed by zeros, as TransformerLens pads them.
     */
    public static NDArray attnHeadAllPosEvery(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric, PatchOptions options) {
        long heads = model.config().nHeads();
        return stack(List.of(
                PatchFamily.ATTN_HEAD_OUT_ALL_POS.run(model, corruptedTokens, cleanCache, metric, options),
                PatchFamily.ATTN_HEAD_Q_ALL_POS.run(model, corruptedTokens, cleanCache, metric, options),
                padHeads(PatchFamily.ATTN_HEAD_K_ALL_POS.run(model, corruptedTokens, cleanCache, metric, options), heads),
                padHeads(PatchFamily.ATTN_HEAD_V_ALL_POS.run(model, corruptedTokens, cleanCache, metric, options), heads),
                PatchFamily.ATTN_HEAD_PATTERN_ALL_POS.run(model, corruptedTokens, cleanCache, metric, options)));
    }

    /**
     * {@link #attnHeadByPosEvery(HookedTransformer, NDArray, ActivationCache, PatchMetric, PatchOptions)} with
     * default options.
     */
    public static NDArray attnHeadByPosEvery(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric) {
        return attnHeadByPosEvery(model, corruptedTokens, cleanCache, metric, PatchOptions.defaults());
    }

    /**
     * {@code get_act_patch_attn_head_by_pos_every}: output, query, key, value of every head at every
     * position, and the pattern by destination position (transposed to [n_layers, pos, n_heads]),
     * stacked: [5, n_layers, pos, n_heads]. Key and value results are zero-padded to n_heads.
     */
    public static NDArray attnHeadByPosEvery(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchMetric metric, PatchOptions options) {
        long heads = model.config().nHeads();
        NDArray pattern = PatchFamily.ATTN_HEAD_PATTERN_BY_POS.run(model, corruptedTokens, cleanCache, metric, options);
        // A view of pattern's memory (held in a Java buffer): close pattern only after stacking.
        NDArray patternByPos = pattern.transpose(0, 2, 1);
        try (pattern) {
            return stack(List.of(
                PatchFamily.ATTN_HEAD_OUT_BY_POS.run(model, corruptedTokens, cleanCache, metric, options),
                PatchFamily.ATTN_HEAD_Q_BY_POS.run(model, corruptedTokens, cleanCache, metric, options),
                padHeads(PatchFamily.ATTN_HEAD_K_BY_POS.run(model, corruptedTokens, cleanCache, metric, options), heads),
                padHeads(PatchFamily.ATTN_HEAD_V_BY_POS.run(model, corruptedTokens, cleanCache, metric, options), heads),
                patternByPos));
        }
    }

    /** Zero-pads the last (head) axis to {@code heads}, as TransformerLens's {@code F.pad} of k/v results. */
    private static NDArray padHeads(NDArray results, long heads) {
        Shape shape = results.getShape();
        long have = shape.get(shape.dimension() - 1);
        if (have == heads) {
            return results;
        }
        long[] padShape = shape.getShape();
        padShape[padShape.length - 1] = heads - have;
        try (NDArray zeros = results.getManager().zeros(new Shape(padShape), results.getDataType())) {
            NDArray padded = results.concat(zeros, shape.dimension() - 1);
            results.close();
            return padded;
        }
    }

    private static NDArray stack(List<NDArray> parts) {
        NDArray stacked = NDArrays.stack(new NDList(parts));
        parts.forEach(NDArray::close);
        return stacked;
    }

    // ---- the sweeps -------------------------------------------------------------------------


    /** {@code array[:, positions]} over [batch, pos, ...] (a new array, kept even for one position), or {@code array} if null. */
    static NDArray selectPositions(NDArray array, int[] positions) {
        if (positions == null) {
            return array;
        }
        long pos = array.getShape().get(1);
        NDList parts = new NDList(positions.length);
        for (int p : positions) {
            long at = p < 0 ? pos + p : p;
            if (at < 0 || at >= pos) {
                throw new LoupeException("The metric reads position " + p + " but the run has " + pos);
            }
            parts.add(array.get(new NDIndex(":, {}:{}", at, at + 1)));
        }
        if (parts.size() == 1) {
            return parts.get(0);
        }
        NDArray joined = NDArrays.concat(parts, 1);
        parts.close();
        return joined;
    }

    /** One sweep: the indices, in output order, and both ways of running them. */
    private static final class Sweep {
        private final HookedTransformer model;
        private final NDArray tokens;
        private final ActivationCache clean;
        private final PatchMetric metric;
        private final String activationName;
        private final List<int[]> indices;
        private final PatchSetter setter;

        Sweep(HookedTransformer model, NDArray tokens, ActivationCache clean, PatchMetric metric,
                String activationName, List<int[]> indices, PatchSetter setter) {
            this.model = model;
            this.tokens = tokens;
            this.clean = clean;
            this.metric = metric;
            this.activationName = activationName;
            this.indices = indices;
            this.setter = setter;
            int layers = model.config().nLayers();
            for (int[] index : indices) {
                if (index.length == 0 || index[0] < 0 || index[0] >= layers) {
                    throw new LoupeException("A patch index starts with its layer, 0 … " + (layers - 1) + ", got "
                            + java.util.Arrays.toString(index));
                }
            }
        }

        /** Every index of the cartesian product of {@code ranges}, row-major (last axis fastest). */
        static List<int[]> product(long[] ranges) {
            long total = 1;
            for (long r : ranges) {
                total *= r;
            }
            if (total > Integer.MAX_VALUE) {
                throw new LoupeException("Too many patches: " + total);
            }
            List<int[]> all = new ArrayList<>((int) total);
            for (long c = 0; c < total; c++) {
                int[] index = new int[ranges.length];
                long rest = c;
                for (int i = ranges.length - 1; i >= 0; i--) {
                    index[i] = (int) (rest % ranges[i]);
                    rest /= ranges[i];
                }
                all.add(index);
            }
            return all;
        }

        /** TransformerLens's loop: a full forward pass from the tokens per index. */
        float[] naive() {
            float[] out = new float[indices.size()];
            for (int c = 0; c < out.length; c++) {
                int[] index = indices.get(c);
                String hook = ActName.of(activationName, index[0]);
                NDArray cleanActivation = clean.get(hook);
                // Each run in a manager of its own, so that its logits and the metric's temporaries go with it.
                try (NDManager run = tokens.getManager().newSubManager()) {
                    NDArray input = tokens.duplicate();
                    input.attach(run);
                    NDArray logits = model.runWithHooks(input,
                            HookSpec.forward(hook, (act, point) -> setter.apply(act, index, cleanActivation)));
                    out[c] = metric.apply(selectPositions(logits, metric.positions()));
                }
            }
            return out;
        }

        /** Runs from the patched layer on, several patches per forward pass, skipping no-op patches. */
        float[] fast(PatchOptions options) {
            float[] out = new float[indices.size()];
            long batch = tokens.getShape().get(0);
            PatchSetters.Slice slice = setter instanceof PatchSetters.Slice s ? s : null;
            boolean skip = options.skipUnchanged() && slice != null;
            // Output slots by layer: each layer's runs share a start and a patched hook.
            java.util.TreeMap<Integer, List<Integer>> byLayer = new java.util.TreeMap<>();
            for (int c = 0; c < indices.size(); c++) {
                byLayer.computeIfAbsent(indices.get(c)[0], l -> new ArrayList<>()).add(c);
            }
            Set<String> patched = new HashSet<>();
            byLayer.keySet().forEach(layer -> patched.add(ActName.of(activationName, layer)));
            CacheOptions keep = CacheOptions.filtered(
                    name -> RESID_PRE.matcher(name).matches() || (skip && patched.contains(name)));
            try (NDManager work = tokens.getManager().newSubManager();
                 ActivationCache corrupted = model.runWithCache(tokens, keep)) {
                Float corruptedMetric = null;
                for (var entry : byLayer.entrySet()) {
                    String hook = ActName.of(activationName, entry.getKey());
                    NDArray cleanActivation = clean.get(hook);
                    List<Integer> todo = new ArrayList<>();
                    boolean[] differs = skip ? slice.differs(cleanActivation, corrupted.get(hook)) : null;
                    Shape row = skip ? corrupted.get(hook).getShape().slice(1) : null;
                    for (int c : entry.getValue()) {
                        if (differs != null && !differs[slice.flatOffset(indices.get(c), slice.maskShape(row))]) {
                            if (corruptedMetric == null) {
                                corruptedMetric = metric.apply(selectPositions(corrupted.logits(), metric.positions()));
                            }
                            out[c] = corruptedMetric;
                        } else {
                            todo.add(c);
                        }
                    }
                    if (todo.isEmpty()) {
                        continue;
                    }
                    // A hook inside block L sees the corrupted run unchanged up to block L: start there.
                    int start = blockOf(hook);
                    boolean fromResidual = start > 0;
                    NDArray base = fromResidual ? corrupted.get(ActName.of("resid_pre", start)) : tokens;
                    int most = runsPerBatch(options, batch, fromResidual ? start : 0);
                    // Even batches (e.g. 16 + 16 rather than 18 + 14): the same passes, a smaller peak.
                    int batches = (todo.size() + most - 1) / most;
                    int perBatch = (todo.size() + batches - 1) / batches;
                    for (int from = 0; from < todo.size(); from += perBatch) {
                        List<Integer> slots = todo.subList(from, Math.min(todo.size(), from + perBatch));
                        List<int[]> chunk = slots.stream().map(indices::get).toList();
                        float[] values = runBatch(work, base, fromResidual ? start : null, hook, cleanActivation,
                                chunk, batch);
                        for (int i = 0; i < values.length; i++) {
                            out[slots.get(i)] = values[i];
                        }
                    }
                }
            }
            return out;
        }

        /** The block a hook is in, or 0 for hooks outside the blocks (those runs start from the tokens). */
        private static int blockOf(String hook) {
            var m = BLOCK.matcher(hook);
            return m.matches() ? Integer.parseInt(m.group(1)) : 0;
        }

        /**
         * Runs per forward pass: the options' bound, lowered so that the pass's main activations per
         * batch row (logits, and per block run the residual stream, attention output, MLP hidden
         * layer and pattern) stay under {@code maxBatchBytes}.
         */
        private int runsPerBatch(PatchOptions options, long batch, int start) {
            TransformerConfig cfg = model.config();
            long pos = tokens.getShape().get(1);
            long perBlock = 2L * cfg.dModel() + (cfg.attnOnly() ? 0 : cfg.dMlp()) + (long) cfg.nHeads() * pos;
            // Only the positions the metric reads are unembedded (all of them if it does not say).
            long unembedded = metric.positions() == null ? pos : metric.positions().length;
            long perRow = 4L * (unembedded * cfg.dVocabOut() + pos * (cfg.nLayers() - start) * perBlock);
            long rows = Math.max(1, options.maxBatchBytes() / perRow);
            return (int) Math.max(1, Math.min(options.maxRunsPerBatch(), rows / batch));
        }

        /** One forward pass over {@code chunk.size()} copies of the corrupted input, copy i patched at chunk[i]. */
        private float[] runBatch(NDManager work, NDArray base, Integer start, String hook, NDArray cleanActivation,
                List<int[]> chunk, long batch) {
            int runs = chunk.size();
            try (NDManager pass = work.newSubManager()) {
                // Copies in order: rows i*batch … (i+1)*batch - 1 are run i.
                long[] repeats = new long[base.getShape().dimension()];
                java.util.Arrays.fill(repeats, 1);
                repeats[0] = runs;
                NDArray input = base.tile(repeats);
                input.attach(pass);
                Hook patch = (act, point) -> patchRows(act, cleanActivation, chunk, batch);
                ForwardOptions forward = start == null ? ForwardOptions.defaults()
                        : ForwardOptions.builder().startAtLayer(start).build();
                int[] positions = metric.positions();
                if (positions == null || !BLOCK.matcher(hook).matches()) {
                    ModelOutput output = model.runWithHooks(input, forward, List.of(HookSpec.forward(hook, patch)));
                    return metric.applyEach(output.logits(), runs);
                }
                // The metric reads a few positions: run every block, then unembed only those positions
                // (ln_final and the unembedding act per position, so their logits are unchanged).
                int last = model.config().nLayers() - 1;
                NDArray residual = model.runWithHooks(input, forward.toBuilder().stopAtLayer(last + 1).build(),
                        List.of(HookSpec.forward(hook, patch))).residual();
                NDArray kept = selectPositions(residual, positions);
                kept.attach(pass);
                NDArray logits = model.forward(kept, ForwardOptions.builder().startAtLayer(last + 1).build())
                        .logits();
                return metric.applyEach(logits, runs);
            }
        }

        /** Patches the stacked activation [runs * batch, ...]: copy i at chunk[i]. */
        private NDArray patchRows(NDArray act, NDArray cleanActivation, List<int[]> chunk, long batch) {
            int runs = chunk.size();
            Shape shape = act.getShape();
            Shape row = shape.slice(1);
            if (setter instanceof PatchSetters.Slice slice) {
                // One mask [runs, 1, *mask] and one where for the whole batch, instead of an op per run.
                Shape mask = slice.maskShape(row);
                int size = (int) mask.size();
                boolean[] keep = new boolean[runs * size];
                for (int i = 0; i < runs; i++) {
                    slice.keepMask(keep, i * size, chunk.get(i), row);
                }
                long[] maskDims = new long[mask.dimension() + 2];
                maskDims[0] = runs;
                maskDims[1] = 1;
                System.arraycopy(mask.getShape(), 0, maskDims, 2, mask.dimension());
                long[] grouped = new long[row.dimension() + 2];
                grouped[0] = runs;
                grouped[1] = batch;
                System.arraycopy(row.getShape(), 0, grouped, 2, row.dimension());
                Shape groupedShape = new Shape(grouped);
                // DJL's where does not broadcast: expand mask and clean activation (views, no copies).
                NDArray keepArray = act.getManager().create(keep, new Shape(maskDims)).broadcast(groupedShape);
                NDArray cleanRows = cleanActivation.broadcast(groupedShape);
                // x = the activation, so the result belongs to the pass (not to the clean cache).
                NDArray patched = NDArrays.where(keepArray, act.reshape(groupedShape), cleanRows).reshape(shape);
                cleanRows.close();
                return patched;
            }
            List<NDArray> parts = new ArrayList<>(runs);
            for (int i = 0; i < runs; i++) {
                NDArray rows = act.get(new NDIndex("{}:{}", i * batch, (i + 1) * batch));
                parts.add(setter.apply(rows, chunk.get(i), cleanActivation));
            }
            return NDArrays.concat(new NDList(parts), 0);
        }
    }
}
