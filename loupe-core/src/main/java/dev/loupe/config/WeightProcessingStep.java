package dev.loupe.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * One of TransformerLens's weight-processing steps, as {@link TransformerConfig#weightProcessing()}
 * records them (in the order applied) and lens configs name them. As JSON each constant is the name
 * of TransformerLens's {@code from_pretrained} argument ({@link #jsonName()}).
 */
public enum WeightProcessingStep {
    /** Each LayerNorm's (or RMSNorm's) weights folded into the layer it feeds: {@code "fold_ln"}. */
    FOLD_LN("fold_ln"),
    /** Every weight writing to the residual stream made zero-mean over d_model: {@code "center_writing_weights"}. */
    CENTER_WRITING_WEIGHTS("center_writing_weights"),
    /** The unembedding made zero-mean over the vocabulary: {@code "center_unembed"}. */
    CENTER_UNEMBED("center_unembed"),
    /** The value biases folded into the output bias {@code b_O}: {@code "fold_value_biases"}. */
    FOLD_VALUE_BIASES("fold_value_biases"),
    /** Each head's QK and OV circuits re-factored by their SVDs: {@code "refactor_factored_attn_matrices"}. */
    REFACTOR_FACTORED_ATTN_MATRICES("refactor_factored_attn_matrices");

    private final String jsonName;

    WeightProcessingStep(String jsonName) {
        this.jsonName = jsonName;
    }

    /** TransformerLens's name for it ({@code "fold_ln"}, {@code "center_unembed"}, …). */
    @JsonValue
    public String jsonName() {
        return jsonName;
    }

    /** The step TransformerLens calls {@code name}; refuses any other name, listing the valid ones. */
    @JsonCreator
    public static WeightProcessingStep fromJson(String name) {
        return JsonNames.parse("weight-processing step", name, values(), WeightProcessingStep::jsonName);
    }

    @Override
    public String toString() {
        return jsonName;
    }
}
