package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.load.spi.HfConfig;
import dev.loupe.load.spi.HfWeights;
import dev.loupe.load.spi.Tensors;

/**
 * Mixtral ({@code model_type} "mixtral"): Mistral (sliding window on every layer when
 * {@code sliding_window} is set) with a sparse mixture of experts in place of the MLP:
 * {@code num_local_experts} gated SiLU experts, {@code num_experts_per_tok} per token.
 *
 * <p>Weights under TransformerLens's names and {@code nn.Linear} layouts: the router
 * {@code block_sparse_moe.gate.weight} [n_experts, d_model] becomes {@code mlp.W_gate.weight}, and
 * expert e's {@code w1} (gate), {@code w3} (up) [d_mlp, d_model] and {@code w2} (down) [d_model,
 * d_mlp] become {@code mlp.experts.e.W_gate.weight}, {@code W_in.weight} and {@code W_out.weight}.
 * Checkpoints in the layout transformers 5 keeps in memory ({@code mlp.gate.weight},
 * {@code mlp.experts.gate_up_proj} [n_experts, 2·d_mlp, d_model] with the gate rows first,
 * {@code mlp.experts.down_proj} [n_experts, d_model, d_mlp]) are read too.
 */
public final class MixtralAdapter extends MistralAdapter {
    @Override
    public String modelType() {
        return "mixtral";
    }

    @Override
    protected String architecture() {
        return "MixtralForCausalLM";
    }

    @Override
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {
        super.configure(c, builder);
        builder.numExperts(c.requireInt("num_local_experts")).expertsPerToken(c.requireInt("num_experts_per_tok"));
    }

    @Override
    protected void mlpWeights(HfWeights w, String hf, int l, TransformerConfig cfg) {
        String mlp = ActName.block(l, "mlp.");
        if (w.has(hf + "mlp.experts.gate_up_proj")) {
            NDArray gateUp = w.raw(hf + "mlp.experts.gate_up_proj"); // [E, 2 * d_mlp, d_model]
            NDArray down = w.raw(hf + "mlp.experts.down_proj"); // [E, d_model, d_mlp]
            for (int e = 0; e < cfg.numExperts(); e++) {
                NDArray[] rows = HfWeights.splitRows(gateUp.get(e), cfg.dMlp(), cfg.dMlp());
                w.put(mlp + "experts." + e + ".W_in.weight", Tensors.contiguous(rows[1]));
                w.put(mlp + "experts." + e + ".W_out.weight", Tensors.contiguous(down.get(e)));
                w.put(mlp + "experts." + e + ".W_gate.weight", Tensors.contiguous(rows[0]));
            }
            w.put(mlp + "W_gate.weight", w.raw(hf + "mlp.gate.weight"));
            return;
        }
        String moe = hf + "block_sparse_moe.";
        for (int e = 0; e < cfg.numExperts(); e++) {
            String expert = moe + "experts." + e + ".";
            w.put(mlp + "experts." + e + ".W_in.weight", w.raw(expert + "w3.weight"));
            w.put(mlp + "experts." + e + ".W_out.weight", w.raw(expert + "w2.weight"));
            w.put(mlp + "experts." + e + ".W_gate.weight", w.raw(expert + "w1.weight"));
        }
        w.put(mlp + "W_gate.weight", w.raw(moe + "gate.weight"));
    }
}
