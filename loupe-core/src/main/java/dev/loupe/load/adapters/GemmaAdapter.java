package dev.loupe.load.adapters;

import ai.djl.ndarray.NDArray;
import dev.loupe.config.ActivationFunctionType;
import dev.loupe.config.TransformerConfig;
import dev.loupe.load.spi.HfConfig;

/**
 * Gemma ({@code model_type} "gemma"): Llama with RMSNorm weights stored as {@code w} for
 * {@code 1 + w}, embeddings multiplied by {@code sqrt(d_model)}, a gelu-tanh gated MLP and a
 * {@code head_dim} that need not be {@code d_model / n_heads}. As TransformerLens does, the scale is
 * folded into {@code W_E} and the norms store {@code 1 + w}; the tied unembedding stays unscaled.
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
    protected NDArray embedding(NDArray embedTokens, TransformerConfig cfg) {
        // Hugging Face multiplies by sqrt(hidden_size) rounded to float32, as this does.
        return embedTokens.mul((float) Math.sqrt(cfg.dModel()));
    }

    /** The scaled embedding {@code W_E} is a copy; the stored one stays, as the tied {@code W_U} views it. */
    @Override
    public long derivedElements(TransformerConfig cfg) {
        return (long) cfg.dVocab() * cfg.dModel();
    }

    @Override
    protected NDArray norm(NDArray weight) {
        return weight.add(1f);
    }
}
