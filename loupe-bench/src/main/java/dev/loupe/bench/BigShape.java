package dev.loupe.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The shape of a real-size model for {@link BigBench}: a Gemma 2, Mixtral or dense Mistral checkpoint
 * (Hugging Face names, [out, in] layouts, bfloat16) described by its dimensions, with the tensors it
 * holds, its {@code config.json}, its parameter count and the FLOP model of a forward pass.
 *
 * @param name the folder suffix and the name on the command line
 * @param modelType {@code gemma2}, {@code mixtral} or {@code mistral}
 * @param experts 0 for a dense MLP
 * @param window the sliding window of the local layers (Gemma 2's even layers), 0 for none
 */
record BigShape(String name, String modelType, int layers, int dModel, int heads, int kvHeads, int headDim, int dMlp,
        int vocab, int experts, int expertsPerToken, boolean tied, int nCtx, int window) {

    /** Weights are N(0, 1)·0.02: activations stay O(1) through the residual stream, so forwards are finite. */
    static final float INIT_STD = 0.02f;
    static final int WEIGHT_SEED = 20261207;

    static final BigShape GEMMA2_2B = new BigShape("gemma2-2b", "gemma2", 26, 2304, 8, 4, 256, 9216, 256000, 0, 0,
            true, 8192, 4096);
    static final BigShape GEMMA2_9B = new BigShape("gemma2-9b", "gemma2", 42, 3584, 16, 8, 256, 14336, 256000, 0, 0,
            true, 8192, 4096);
    static final BigShape MIXTRAL = new BigShape("mixtral", "mixtral", 16, 1024, 16, 4, 64, 3584, 32000, 8, 2,
            false, 4096, 0);
    /** Mixtral's active parameters in one gated MLP: two experts of 3584 = one MLP of 7168. */
    static final BigShape MIXTRAL_DENSE = new BigShape("mixtral-dense", "mistral", 16, 1024, 16, 4, 64, 7168, 32000,
            0, 0, false, 4096, 0);

    /** One tensor: its name, shape, and the value it is filled with ({@code null}: random). */
    record Tensor(String name, long[] shape, Float fill) implements SafetensorsHeaderBytes.Entry {
        long elements() {
            return Arrays.stream(shape).reduce(1, Math::multiplyExact);
        }

        /** bfloat16 bytes. */
        @Override
        public long bytes() {
            return 2 * elements();
        }
    }

    boolean gemma() {
        return modelType.equals("gemma2");
    }

    /** The checkpoint's tensors in file order. */
    List<Tensor> tensors() {
        // Gemma stores an RMSNorm weight as w and scales by 1 + w: 0 there is a norm of 1.
        Float norm = gemma() ? 0f : 1f;
        long q = (long) heads * headDim;
        long kv = (long) kvHeads * headDim;
        List<Tensor> t = new ArrayList<>();
        t.add(new Tensor("model.embed_tokens.weight", new long[] {vocab, dModel}, null));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            t.add(new Tensor(p + "input_layernorm.weight", new long[] {dModel}, norm));
            t.add(new Tensor(p + "self_attn.q_proj.weight", new long[] {q, dModel}, null));
            t.add(new Tensor(p + "self_attn.k_proj.weight", new long[] {kv, dModel}, null));
            t.add(new Tensor(p + "self_attn.v_proj.weight", new long[] {kv, dModel}, null));
            t.add(new Tensor(p + "self_attn.o_proj.weight", new long[] {dModel, q}, null));
            t.add(new Tensor(p + "post_attention_layernorm.weight", new long[] {dModel}, norm));
            if (gemma()) {
                t.add(new Tensor(p + "pre_feedforward_layernorm.weight", new long[] {dModel}, norm));
                t.add(new Tensor(p + "post_feedforward_layernorm.weight", new long[] {dModel}, norm));
            }
            if (experts > 0) {
                String moe = p + "block_sparse_moe.";
                t.add(new Tensor(moe + "gate.weight", new long[] {experts, dModel}, null));
                for (int e = 0; e < experts; e++) {
                    String x = moe + "experts." + e + ".";
                    t.add(new Tensor(x + "w1.weight", new long[] {dMlp, dModel}, null));
                    t.add(new Tensor(x + "w2.weight", new long[] {dModel, dMlp}, null));
                    t.add(new Tensor(x + "w3.weight", new long[] {dMlp, dModel}, null));
                }
            } else {
                t.add(new Tensor(p + "mlp.gate_proj.weight", new long[] {dMlp, dModel}, null));
                t.add(new Tensor(p + "mlp.up_proj.weight", new long[] {dMlp, dModel}, null));
                t.add(new Tensor(p + "mlp.down_proj.weight", new long[] {dModel, dMlp}, null));
            }
        }
        t.add(new Tensor("model.norm.weight", new long[] {dModel}, norm));
        if (!tied) {
            t.add(new Tensor("lm_head.weight", new long[] {vocab, dModel}, null));
        }
        return t;
    }

    /** Parameters, a tied embedding counted once: what the model needs in memory, times the bytes of its dtype. */
    long parameters() {
        return tensors().stream().mapToLong(Tensor::elements).sum();
    }

    /**
     * FLOP of a forward pass per token at {@code pos} positions, counting only matrix products and a
     * multiply-add as 2: {@code 2·(q, k, v, o weights + the MLP weights a token uses + router)·L
     * + 4·T·(n_heads·d_head)·L + 2·d·V}. It is {@link Report}'s Llama model with the attention width
     * {@code n_heads·d_head} (not d_model: Gemma 2 2B's is 2048 against 2304) and, for a mixture of
     * experts, only the experts a token is routed to.
     */
    double flopsPerToken(long pos) {
        long q = (long) heads * headDim;
        long kv = (long) kvHeads * headDim;
        long attention = dModel * q + 2L * dModel * kv + q * dModel;
        long mlp = 3L * dModel * dMlp * (experts > 0 ? expertsPerToken : 1) + (long) dModel * experts;
        return 2.0 * layers * (attention + mlp) + 4.0 * pos * q * layers + 2.0 * dModel * vocab;
    }

    /** The Hugging Face {@code config.json}, with the keys of the test checkpoints' configs. */
    String configJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        String arch = switch (modelType) {
            case "gemma2" -> "Gemma2ForCausalLM";
            case "mixtral" -> "MixtralForCausalLM";
            case "mistral" -> "MistralForCausalLM";
            default -> throw new IllegalStateException("No config for model_type " + modelType);
        };
        c.putArray("architectures").add(arch);
        c.put("model_type", modelType);
        c.put("attention_bias", false);
        c.put("attention_dropout", 0.0);
        c.put("hidden_size", dModel);
        c.put("intermediate_size", dMlp);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
        c.put("head_dim", headDim);
        c.put("max_position_embeddings", nCtx);
        c.put("vocab_size", vocab);
        c.put("tie_word_embeddings", tied);
        c.put("initializer_range", INIT_STD);
        c.put("dtype", "bfloat16");
        c.put("use_cache", true);
        ObjectNode rope = c.putObject("rope_parameters");
        if (gemma()) {
            c.put("bos_token_id", 2);
            c.put("eos_token_id", 1);
            c.put("pad_token_id", 0);
            c.put("hidden_activation", "gelu_pytorch_tanh");
            c.put("attn_logit_softcapping", 50.0);
            c.put("final_logit_softcapping", 30.0);
            c.put("query_pre_attn_scalar", headDim);
            c.put("rms_norm_eps", 1e-6);
            c.put("sliding_window", window);
            ArrayNode types = c.putArray("layer_types");
            for (int l = 0; l < layers; l++) {
                types.add(l % 2 == 0 ? "sliding_attention" : "full_attention");
            }
            rope.put("rope_theta", 10000.0);
        } else {
            c.put("bos_token_id", 1);
            c.put("eos_token_id", 2);
            c.put("hidden_act", "silu");
            c.put("rms_norm_eps", 1e-5);
            c.putNull("sliding_window");
            rope.put("rope_theta", 1000000.0);
            if (experts > 0) {
                c.put("num_local_experts", experts);
                c.put("num_experts_per_tok", expertsPerToken);
                c.put("output_router_logits", false);
                c.put("router_aux_loss_coef", 0.001);
                c.put("router_jitter_noise", 0.0);
            }
        }
        rope.put("rope_type", "default");
        c.put("loupe_bench_weight_seed", WEIGHT_SEED);
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(c) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A one-line description: layers, width, heads, MLP, vocabulary, parameters. */
    String describe() {
        return String.format(Locale.ROOT, "%s: %d layers, d_model %d, %d/%d heads of %d, %s, vocab %d%s, %.2f B params",
                name, layers, dModel, heads, kvHeads, headDim,
                experts > 0 ? experts + " experts of " + dMlp + " (top-" + expertsPerToken + ")" : "MLP " + dMlp,
                vocab, tied ? " tied" : "", parameters() / 1e9);
    }
}
