package dev.loupe.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * TransformerLens's {@code act_fn}: the MLP's non-linearity (the math is
 * {@code dev.loupe.model.components.ActivationFunction}). As JSON each constant is TransformerLens's
 * string ({@link #jsonName()}), which is also Hugging Face's {@code hidden_act} /
 * {@code activation_function}.
 */
public enum ActivationFunctionType {
    /** GPT-2's tanh approximation of GELU: {@code "gelu_new"}. */
    GELU_NEW("gelu_new"),
    /** The exact, erf-based GELU: {@code "gelu"}. */
    GELU("gelu"),
    /** A cheaper tanh approximation of GELU (BLOOM): {@code "gelu_fast"}. */
    GELU_FAST("gelu_fast"),
    /** PyTorch's {@code gelu(approximate="tanh")}, the formula of {@code gelu_new} (Gemma): {@code "gelu_pytorch_tanh"}. */
    GELU_PYTORCH_TANH("gelu_pytorch_tanh"),
    /** {@code max(0, x)} (OPT): {@code "relu"}. */
    RELU("relu"),
    /** {@code x·sigmoid(x)} (Llama, Mistral, Qwen2): {@code "silu"}. */
    SILU("silu");

    private final String jsonName;

    ActivationFunctionType(String jsonName) {
        this.jsonName = jsonName;
    }

    /** TransformerLens's name for it ({@code "gelu_new"}, {@code "silu"}, …). */
    @JsonValue
    public String jsonName() {
        return jsonName;
    }

    /** The function TransformerLens calls {@code name}; refuses any other name, listing the valid ones. */
    @JsonCreator
    public static ActivationFunctionType fromJson(String name) {
        return JsonNames.parse("act_fn", name, values(), ActivationFunctionType::jsonName);
    }

    @Override
    public String toString() {
        return jsonName;
    }
}
