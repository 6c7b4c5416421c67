package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import dev.loupe.config.TransformerConfig;
import dev.loupe.hook.ActName;
import dev.loupe.load.spi.HfConfig;
import dev.loupe.load.spi.HfWeights;

/**
 * Phi-3 ({@code model_type} "phi3"): a Llama-style block (RMSNorm, rotary, SiLU-gated MLP) whose
 * checkpoint fuses the projections: {@code qkv_proj} [(n_heads + 2·n_kv_heads)·d_head, d_model] holds
 * the rows of q, then k, then v, and {@code gate_up_proj} [2·d_mlp, d_model] the rows of the gate,
 * then the up projection. They are split at load into TransformerLens's {@code W_Q}, {@code W_K},
 * {@code W_V}, {@code W_gate} and {@code W_in}, so the model is computed exactly as Llama is.
 *
 * <p>As Hugging Face (whose Phi-3 is Mistral's model), {@code sliding_window} applies to every layer
 * when set (Phi-3-mini-4k has 2047), and {@code partial_rotary_factor} rotates part of each head;
 * TransformerLens's Phi-3 ignores both, which only matters beyond the window or for partial rotary.
 */
public final class Phi3Adapter extends MistralAdapter {
    @Override
    public String modelType() {
        return "phi3";
    }

    @Override
    protected String architecture() {
        return "Phi3ForCausalLM";
    }

    @Override
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {
        super.configure(c, builder);
        int dHead = c.optionalInt("head_dim").orElseGet(() -> HfConfig.headDim("hidden_size", c.requireInt("hidden_size"),
                "num_attention_heads", c.requireInt("num_attention_heads")));
        builder.rotaryDim((int) (dHead * c.partialRotaryFactor(1.0)));
    }

    @Override
    protected void attentionWeights(HfWeights w, String hf, int l, TransformerConfig cfg) {
        int dHead = cfg.dHead();
        String kv = cfg.groupedQueryAttention() ? "attn._" : "attn.";
        NDArray[] qkv = HfWeights.splitRows(w.raw(hf + "self_attn.qkv_proj.weight"),
                (long) cfg.nHeads() * dHead, (long) cfg.kvHeads() * dHead, (long) cfg.kvHeads() * dHead);
        w.put(ActName.block(l, "attn.W_Q"), w.intoHeads(qkv[0], cfg.nHeads(), dHead));
        w.put(ActName.block(l, kv + "W_K"), w.intoHeads(qkv[1], cfg.kvHeads(), dHead));
        w.put(ActName.block(l, kv + "W_V"), w.intoHeads(qkv[2], cfg.kvHeads(), dHead));
        w.put(ActName.block(l, "attn.b_Q"), w.zeros(cfg.nHeads(), dHead));
        w.put(ActName.block(l, kv + "b_K"), w.zeros(cfg.kvHeads(), dHead));
        w.put(ActName.block(l, kv + "b_V"), w.zeros(cfg.kvHeads(), dHead));
        w.put(ActName.block(l, "attn.W_O"), w.outOfHeads(hf + "self_attn.o_proj.weight", cfg.nHeads(), dHead));
        w.put(ActName.block(l, "attn.b_O"), w.zeros(cfg.dModel()));
    }

    @Override
    protected void mlpWeights(HfWeights w, String hf, int l, TransformerConfig cfg) {
        NDArray[] gateUp = HfWeights.splitRows(w.raw(hf + "mlp.gate_up_proj.weight"), cfg.dMlp(), cfg.dMlp());
        w.put(ActName.block(l, "mlp.W_gate"), w.linear(gateUp[0]));
        w.put(ActName.block(l, "mlp.W_in"), w.linear(gateUp[1]));
        w.put(ActName.block(l, "mlp.b_in"), w.zeros(cfg.dMlp()));
        w.put(ActName.block(l, "mlp.W_out"), w.linear(hf + "mlp.down_proj.weight"));
        w.put(ActName.block(l, "mlp.b_out"), w.zeros(cfg.dModel()));
    }
}
