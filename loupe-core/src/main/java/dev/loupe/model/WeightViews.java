package dev.loupe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import java.util.Map;

/**
 * TransformerLens's stacked weight properties on {@link HookedTransformer}: every layer's parameter
 * in one tensor, named as TransformerLens names them ({@code W_Q} [n_layers, n_heads, d_model,
 * d_head], …). Grouped-query keys and values are repeated to {@code n_heads}, as TransformerLens's
 * {@code W_K}/{@code W_V} are. Each call builds a new tensor owned by {@code manager}; the model's
 * own weights are never exposed to in-place changes this way.
 */
public interface WeightViews {

    /** The model's parameters by TransformerLens name. */
    Map<String, NDArray> stateDict();

    /** The model's config. */
    TransformerConfig config();

    /** [n_layers, n_heads, d_model, d_head] */
    default NDArray W_Q(NDManager manager) {
        return stack(manager, "attn.W_Q", false);
    }

    /** [n_layers, n_heads, d_model, d_head], key/value heads repeated per query head. */
    default NDArray W_K(NDManager manager) {
        return stack(manager, "attn.W_K", true);
    }

    /** [n_layers, n_heads, d_model, d_head], key/value heads repeated per query head. */
    default NDArray W_V(NDManager manager) {
        return stack(manager, "attn.W_V", true);
    }

    /** [n_layers, n_heads, d_head, d_model] */
    default NDArray W_O(NDManager manager) {
        return stack(manager, "attn.W_O", false);
    }

    /** [n_layers, n_heads, d_head] */
    default NDArray b_Q(NDManager manager) {
        return stack(manager, "attn.b_Q", false);
    }

    /** [n_layers, n_heads, d_head] */
    default NDArray b_K(NDManager manager) {
        return stack(manager, "attn.b_K", true);
    }

    /** [n_layers, n_heads, d_head] */
    default NDArray b_V(NDManager manager) {
        return stack(manager, "attn.b_V", true);
    }

    /** [n_layers, d_model] */
    default NDArray b_O(NDManager manager) {
        return stack(manager, "attn.b_O", false);
    }

    /** [n_layers, d_model, d_mlp] */
    default NDArray W_in(NDManager manager) {
        return stack(manager, "mlp.W_in", false);
    }

    /** [n_layers, d_model, d_mlp], or null for models without a gated MLP. */
    default NDArray W_gate(NDManager manager) {
        return config().gatedMlp() ? stack(manager, "mlp.W_gate", false) : null;
    }

    /** [n_layers, d_mlp] */
    default NDArray b_in(NDManager manager) {
        return stack(manager, "mlp.b_in", false);
    }

    /** [n_layers, d_mlp, d_model] */
    default NDArray W_out(NDManager manager) {
        return stack(manager, "mlp.W_out", false);
    }

    /** [n_layers, d_model] */
    default NDArray b_out(NDManager manager) {
        return stack(manager, "mlp.b_out", false);
    }

    /** [d_vocab, d_model] */
    default NDArray W_E(NDManager manager) {
        return copy(manager, "embed.W_E");
    }

    /** [d_model, d_vocab_out] */
    default NDArray W_U(NDManager manager) {
        return copy(manager, "unembed.W_U");
    }

    /** [d_vocab_out] */
    default NDArray b_U(NDManager manager) {
        return copy(manager, "unembed.b_U");
    }

    /** [n_ctx, d_model]; only models with learned positions have it. */
    default NDArray W_pos(NDManager manager) {
        return copy(manager, "pos_embed.W_pos");
    }

    /** [d_vocab + n_ctx, d_model]: token and position embeddings, one after the other. */
    default NDArray W_E_pos(NDManager manager) {
        return NDArrays.concat(new NDList(W_E(manager), W_pos(manager)), 0);
    }

    /** Every layer's {@code blocks.L.<name>}, stacked (a GQA name falls back to its {@code _} form, repeated). */
    private NDArray stack(NDManager manager, String name, boolean kvHeads) {
        TransformerConfig cfg = config();
        NDList layers = new NDList();
        for (int l = 0; l < cfg.nLayers(); l++) {
            String key = ActName.block(l, name);
            if (kvHeads && cfg.groupedQueryAttention()) {
                key = key.replace("attn.", "attn._");
                NDArray grouped = copy(manager, key);
                layers.add(grouped.repeat(0, cfg.nHeads() / cfg.kvHeads()));
            } else {
                layers.add(copy(manager, key));
            }
        }
        return NDArrays.stack(layers, 0);
    }

    /** A copy of parameter {@code name} owned by {@code manager} (an indexed view puts it there). */
    private NDArray copy(NDManager manager, String name) {
        NDArray value = stateDict().get(name);
        if (value == null) {
            throw new LoupeException("This model has no parameter '" + name + "'" + (config().mixtureOfExperts()
                    && name.contains(".mlp.") ? ": a mixture of experts has no single MLP; each expert has its own"
                    + " mlp.experts.E.W_in.weight, W_gate.weight and W_out.weight (nn.Linear layout [out, in]), and the"
                    + " router is mlp.W_gate.weight [n_experts, d_model]" : ""));
        }
        return value.get(manager, new NDIndex()).duplicate();
    }
}
