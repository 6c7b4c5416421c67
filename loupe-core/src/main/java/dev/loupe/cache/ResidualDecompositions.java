package dev.loupe.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The finer decompositions of TransformerLens's cache: each MLP neuron's contribution, the full
 * decomposition of the residual stream into heads, neurons, embeddings and biases, and logit
 * attributions. New arrays belong to the cache's manager.
 */
final class ResidualDecompositions {
    private ResidualDecompositions() {}

    /** {@code get_neuron_results}: post[..., n] · W_out[n] for every neuron of {@code layer} [batch, pos, d_mlp, d_model]. */
    static NDArray neuronResults(ActivationCache cache, int layer, PosSlice posSlice) {
        if (cache.model().config().mixtureOfExperts()) {
            throw new LoupeException("Neuron results need a dense MLP: in a mixture of experts each expert has its own"
                    + " neurons over the tokens routed to it (blocks.L.mlp.experts.E.hook_post); decompose by "
                    + "mlp_out instead (expandNeurons off)");
        }
        NDArray post = posSlice.apply(cache.get("post", layer), -2); // [batch, pos, d_mlp]
        NDArray wOut = cache.model().stateDict().get(ActName.block(layer, "mlp.W_out")); // [d_mlp, d_model]
        return post.expandDims(-1).mul(wOut);
    }

    /** {@code stack_neuron_results}: every neuron of the layers before {@code layer}, labelled "L{l}N{n}". */
    static LabelledStack stackNeuronResults(ActivationCache cache, StackOptions options) {
        TransformerConfig cfg = cache.model().config();
        int layer = options.layer() == null || options.layer() == -1 ? cfg.nLayers() : options.layer();
        NDList perLayer = new NDList();
        List<String> labels = new ArrayList<>();
        for (int l = 0; l < layer; l++) {
            perLayer.add(neuronResults(cache, l, options.posSlice()));
            for (int n = 0; n < cfg.dMlp(); n++) {
                labels.add("L" + l + "N" + n);
            }
        }
        NDArray stack = componentsFirst(NDArrays.concat(perLayer, -2));
        if (options.inclRemainder()) {
            NDArray total = options.posSlice().apply(cache.get("resid_post", layer - 1), -2);
            stack = NDArrays.concat(new NDList(stack, total.sub(stack.sum(new int[] {0})).expandDims(0)), 0);
            labels.add("remainder");
        }
        if (options.applyLn()) {
            stack = ResidualStacks.applyLnToStack(cache, stack, layer, false, options.posSlice(), false);
        }
        return new LabelledStack(stack, labels);
    }

    /**
     * {@code get_full_resid_decomposition}: every head, every neuron (or each layer's MLP output
     * when {@code expandNeurons} is off), the embeddings and the biases, which sum to the residual
     * stream entering {@code layer} (its MLP with {@code mlpInput}).
     */
    static LabelledStack fullResidDecomposition(ActivationCache cache, StackOptions options, boolean expandNeurons) {
        TransformerConfig cfg = cache.model().config();
        Map<String, NDArray> weights = cache.model().stateDict();
        int layer = options.layer() == null || options.layer() == -1 ? cfg.nLayers() : options.layer();
        PosSlice slice = options.posSlice();
        NDList components = new NDList();
        List<String> labels = new ArrayList<>();
        int headLayers = options.mlpInput() ? layer + 1 : layer;
        for (int l = 0; l < headLayers; l++) {
            NDArray heads = componentsFirst(slice.apply(ResidualStacks.headResults(cache, l), -3));
            for (int h = 0; h < cfg.nHeads(); h++) {
                components.add(heads.get(h));
                labels.add("L" + l + "H" + h);
            }
        }
        for (int l = 0; l < layer && !cfg.attnOnly(); l++) {
            if (expandNeurons) {
                NDArray neurons = componentsFirst(neuronResults(cache, l, slice));
                for (int n = 0; n < cfg.dMlp(); n++) {
                    components.add(neurons.get(n));
                    labels.add("L" + l + "N" + n);
                }
            } else {
                components.add(slice.apply(cache.get("mlp_out", l), -2));
                labels.add(l + "_mlp_out");
            }
        }
        NDArray embed = slice.apply(cache.get("hook_embed"), -2);
        components.add(embed);
        labels.add("embed");
        if (cache.containsKey("hook_pos_embed")) {
            components.add(slice.apply(cache.get("hook_pos_embed"), -2));
            labels.add("pos_embed");
        }
        NDArray bias = embed.zerosLike();
        for (int l = 0; l < headLayers; l++) {
            bias = bias.add(weights.get(ActName.block(l, "attn.b_O")));
            if (expandNeurons && l < layer && !cfg.attnOnly()) {
                bias = bias.add(weights.get(ActName.block(l, "mlp.b_out")));
            }
        }
        components.add(bias);
        labels.add("bias");
        NDArray stack = NDArrays.stack(components, 0);
        if (options.applyLn()) {
            stack = ResidualStacks.applyLnToStack(cache, stack, layer, options.mlpInput(), slice, false);
        }
        return new LabelledStack(stack, labels);
    }

    /**
     * {@code logit_attrs}: how much each component pushes the logit of {@code tokens} (minus that of
     * {@code incorrectTokens}, if given) through the final norm's cached scale: [components, ...].
     *
     * @param tokens token ids matching the stack's batch/pos axes ([batch], [batch, pos], or one id)
     */
    static NDArray logitAttrs(ActivationCache cache, NDArray stack, NDArray tokens, NDArray incorrectTokens,
            PosSlice posSlice) {
        NDArray directions = directions(cache, tokens);
        if (incorrectTokens != null) {
            directions = directions.sub(directions(cache, incorrectTokens));
        }
        int n = cache.model().config().nLayers();
        NDArray scaled = ResidualStacks.applyLnToStack(cache, stack, n, false, posSlice, false);
        return scaled.mul(directions).sum(new int[] {-1});
    }

    /** W_U columns of {@code tokens}, [..., d_model], in the cache's manager. */
    private static NDArray directions(ActivationCache cache, NDArray tokens) {
        NDArray wU = cache.model().stateDict().get("unembed.W_U"); // [d_model, d_vocab]
        NDArray ids = tokens.toType(DataType.INT64, false);
        NDArray columns = wU.get(cache.manager(), new NDIndex(":, {}", ids.flatten())); // [d_model, n]
        return columns.transpose().reshape(ids.getShape().addAll(new ai.djl.ndarray.types.Shape(wU.getShape().get(0))));
    }

    /** [..., components, d_model] → [components, ..., d_model]. */
    static NDArray componentsFirst(NDArray x) {
        int axes = x.getShape().dimension();
        int[] order = new int[axes];
        order[0] = axes - 2;
        for (int i = 1; i < axes; i++) {
            order[i] = i - 1 < axes - 2 ? i - 1 : axes - 1;
        }
        return x.transpose(order);
    }
}
