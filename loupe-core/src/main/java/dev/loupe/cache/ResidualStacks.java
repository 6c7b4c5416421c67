package dev.loupe.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.loupe.LoupeException;
import dev.loupe.config.NormalizationType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import java.util.ArrayList;
import java.util.List;

/**
 * TransformerLens's views of the residual stream from a cache: what it has accumulated layer by
 * layer, what each component wrote into it, and each head's share. New arrays belong to the cache's
 * manager, as the activations they are computed from do.
 */
final class ResidualStacks {
    private ResidualStacks() {}

    /** {@code accumulated_resid}: resid_pre of every layer up to {@code layer}, then the final residual. */
    static LabelledStack accumulatedResid(ActivationCache cache, StackOptions options) {
        TransformerConfig cfg = model(cache).config();
        int n = cfg.nLayers();
        int layer = layer(options, n);
        List<String> labels = new ArrayList<>();
        NDList components = new NDList();
        for (int l = 0; l <= layer; l++) {
            if (l == n) {
                components.add(cache.get("resid_post", n - 1));
                labels.add("final_post");
                continue;
            }
            components.add(cache.get("resid_pre", l));
            labels.add(l + "_pre");
            if ((options.inclMid() && l < layer) || (options.mlpInput() && l == layer)) {
                components.add(cache.get("resid_mid", l));
                labels.add(l + "_mid");
            }
        }
        NDArray stack = stack(components, options.posSlice(), -2);
        if (options.applyLn()) {
            stack = applyLnToStack(cache, stack, layer, options.mlpInput(), options.posSlice(), layer == n);
        }
        return new LabelledStack(stack, labels);
    }

    /** {@code decompose_resid}: the embeddings and every attention and MLP output before {@code layer}. */
    static LabelledStack decomposeResid(ActivationCache cache, StackOptions options) {
        TransformerConfig cfg = model(cache).config();
        int layer = layer(options, cfg.nLayers());
        boolean attn = !options.mode().equals("mlp");
        boolean mlp = !options.mode().equals("attn") && !cfg.attnOnly();
        List<String> labels = new ArrayList<>();
        NDList components = new NDList();
        if (options.inclEmbeds()) {
            if (cache.containsKey("hook_embed")) {
                components.add(cache.get("hook_embed"));
                labels.add("embed");
            }
            if (cache.containsKey("hook_pos_embed")) {
                components.add(cache.get("hook_pos_embed"));
                labels.add("pos_embed");
            }
        }
        for (int l = 0; l < layer; l++) {
            if (attn) {
                components.add(cache.get("attn_out", l));
                labels.add(l + "_attn_out");
            }
            if (mlp) {
                components.add(cache.get("mlp_out", l));
                labels.add(l + "_mlp_out");
            }
        }
        if (options.mlpInput() && attn) {
            components.add(cache.get("attn_out", layer));
            labels.add(layer + "_attn_out");
        }
        NDArray stack = stack(components, options.posSlice(), -2);
        if (options.applyLn()) {
            stack = applyLnToStack(cache, stack, layer, options.mlpInput(), options.posSlice(), false);
        }
        return new LabelledStack(stack, labels);
    }

    /** {@code stack_head_results}: each head's output (z · W_O, without b_O) of every layer before {@code layer}. */
    static LabelledStack stackHeadResults(ActivationCache cache, StackOptions options) {
        TransformerConfig cfg = model(cache).config();
        int layer = layer(options, cfg.nLayers());
        List<String> labels = new ArrayList<>();
        NDList perLayer = new NDList();
        for (int l = 0; l < layer; l++) {
            perLayer.add(options.posSlice().apply(headResults(cache, l), -3)); // [..., head, d_model]
            for (int h = 0; h < cfg.nHeads(); h++) {
                labels.add("L" + l + "H" + h);
            }
        }
        if (perLayer.isEmpty()) {
            throw new LoupeException("stackHeadResults with layer 0 has no heads to stack");
        }
        NDArray stack = ResidualDecompositions.componentsFirst(NDArrays.concat(perLayer, -2)); // [layers * heads, ..., d_model]
        if (options.inclRemainder()) {
            NDArray total = options.posSlice().apply(cache.get("resid_post", layer - 1), -2);
            stack = NDArrays.concat(new NDList(stack, total.sub(stack.sum(new int[] {0})).expandDims(0)), 0);
            labels.add("remainder");
        }
        if (options.applyLn()) {
            stack = applyLnToStack(cache, stack, layer, false, options.posSlice(), false);
        }
        return new LabelledStack(stack, labels);
    }

    /** Each head's output at layer {@code layer} [batch, pos, head_index, d_model]: cached, or z · W_O. */
    static NDArray headResults(ActivationCache cache, int layer) {
        String cached = ActName.of("result", layer);
        if (cache.containsKey(cached)) {
            return cache.get(cached);
        }
        NDArray z = cache.get("z", layer); // [batch, pos, head_index, d_head]
        NDArray wO = model(cache).stateDict().get(ActName.block(layer, "attn.W_O")); // [head_index, d_head, d_model]
        return z.expandDims(-1).mul(wO).sum(new int[] {-2});
    }

    /**
     * {@code apply_ln_to_stack}: what the norm before {@code layer} (ln_final for the whole model) does
     * to each component, using the scale it computed for the full residual — centre (LayerNorm
     * models) and divide by the cached scale, no weights. With {@code recompute} at the end of the
     * model, each component goes through the final norm itself instead.
     */
    static NDArray applyLnToStack(ActivationCache cache, NDArray stack, int layer, boolean mlpInput, PosSlice posSlice,
            boolean recompute) {
        CacheModel model = model(cache);
        TransformerConfig cfg = model.config();
        NormalizationType type = cfg.normalizationType();
        if (type == NormalizationType.NONE) {
            return stack;
        }
        int n = cfg.nLayers();
        if (recompute && layer == n) {
            return model.applyFinalNorm(stack);
        }
        if (layer < n && !cfg.hasPreNorms()) {
            throw new LoupeException("This model's blocks have no norm before attention or the MLP (only after them,"
                    + " use_normalization_after_only), so there is no scale to apply at layer " + layer
                    + "; apply ln_final (layer -1) or leave apply_ln off");
        }
        NDArray centred = type.isLayerNorm() ? stack.sub(stack.mean(new int[] {-1}, true)) : stack;
        String scaleName = layer == n ? ActName.of("scale") : ActName.of("scale", layer, mlpInput ? "ln2" : "ln1");
        return centred.div(posSlice.apply(cache.get(scaleName), -2));
    }

    /** {@code stack_activation}: one hook's activation of every layer before {@code layer}, stacked. */
    static NDArray stackActivation(ActivationCache cache, String name, int layer, String layerType) {
        int n = model(cache).config().nLayers();
        int end = layer < 0 ? n : layer;
        NDList layers = new NDList();
        for (int l = 0; l < end; l++) {
            layers.add(layerType == null ? cache.get(name, l) : cache.get(name, l, layerType));
        }
        return NDArrays.stack(layers, 0);
    }

    private static NDArray stack(NDList components, PosSlice posSlice, int posDim) {
        NDList sliced = new NDList();
        for (NDArray component : components) {
            sliced.add(posSlice.apply(component, posDim));
        }
        return NDArrays.stack(sliced, 0);
    }

    private static int layer(StackOptions options, int nLayers) {
        return options.layer() == null || options.layer() == -1 ? nLayers : options.layer();
    }

    private static CacheModel model(ActivationCache cache) {
        if (cache.model() == null) {
            throw new LoupeException("This cache was loaded from a file without its model; use "
                    + "ActivationCache.load(path, model) to analyse the residual stream");
        }
        return cache.model();
    }
}
