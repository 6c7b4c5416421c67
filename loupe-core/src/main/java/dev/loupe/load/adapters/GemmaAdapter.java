package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import dev.loupe.config.ActivationFunctionType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.spi.HfConfig;
import dev.loupe.load.spi.HfWeights;

/**
 * Gemma ({@code model_type} "gemma"): Llama with RMSNorm weights stored as {@code w} for
 * {@code 1 + w}, embeddings multiplied by {@code sqrt(d_model)}, a gelu-tanh gated MLP and a
 * {@code head_dim} that need not be {@code d_model / n_heads}. As in TransformerLens, {@code W_E} reads
 * as the scaled embedding and the norms store {@code 1 + w}; the tied unembedding stays unscaled. The
 * scaled {@code W_E} is not made at load: it is the stored embedding with a scale, which the embedding
 * applies to the rows it looks up, so one stored matrix serves {@code W_E} and {@code W_U}.
 * Gemma 2 and 3 extend it ({@link Gemma2Adapter}).
 */
public class GemmaAdapter extends LlamaAdapter {
    @Override
    public String modelType() {
        return "gemma";
    }

    @Override
    protected String architecture() {
        return "GemmaForCausalLM";
    }

    @Override
    protected void configure(HfConfig c, TransformerConfig.Builder builder) {
        String activation = c.string("hidden_activation", c.string("hidden_act", "gelu_pytorch_tanh"));
        builder.actFn(ActivationFunctionType.fromJson(activation));
    }

    @Override
    protected void putEmbedding(HfWeights w, NDArray embedTokens, TransformerConfig cfg) {
        // Hugging Face multiplies by sqrt(hidden_size) rounded to float32, as this does.
        w.putScaled("embed.W_E", embedTokens, (float) Math.sqrt(cfg.dModel()));
    }

    @Override
    protected NDArray norm(NDArray weight) {
        return weight.add(1f);
    }
}
