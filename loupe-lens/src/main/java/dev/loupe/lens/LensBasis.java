package dev.loupe.lens;

import dev.loupe.config.TransformerConfig;
import dev.loupe.config.WeightProcessingStep;
import dev.loupe.process.ProcessOptions;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The coordinates a lens reads the residual stream and the logits in. Weight processing changes
 * them: {@code center_writing_weights} centres the residual ({@code h → Ch}), {@code fold_ln} moves
 * the final norm's weights into {@code W_U}, {@code center_unembed} shifts the logits, and a
 * translator trained on {@code h} does not carry over to {@code Ch}, since
 * {@code LN(Ch + A·Ch + b) ≠ LN(h + A·h + b)}. So a lens records the processing of the model it was
 * trained on, and only runs on a model processed the same way.
 *
 * @param weightProcessing the processing steps, in order (by TransformerLens name in JSON); empty for the
 *     weights as Hugging Face has them, which is the basis of every lens the Python library made
 */
public record LensBasis(List<WeightProcessingStep> weightProcessing) {
    /** Hugging Face's own residual stream and unembedding (no processing). */
    public static final LensBasis HUGGING_FACE = new LensBasis(List.of());

    public LensBasis {
        weightProcessing = weightProcessing == null ? List.of() : List.copyOf(weightProcessing);
    }

    /** The basis of a model's residual stream, from what its config records. */
    public static LensBasis of(TransformerConfig config) {
        return new LensBasis(config.weightProcessing());
    }

    /** Whether this is Hugging Face's basis. */
    public boolean isHuggingFace() {
        return weightProcessing.isEmpty();
    }

    /**
     * The processing that gives a freshly loaded model this basis, e.g. to load the model a lens was
     * trained on: {@code HookedTransformer.fromPretrained(dir, basis.processOptions())}.
     */
    public ProcessOptions processOptions() {
        ProcessOptions options = ProcessOptions.none();
        for (WeightProcessingStep step : weightProcessing) {
            options = switch (step) {
                case FOLD_LN -> options.withFoldLn(true);
                case CENTER_WRITING_WEIGHTS -> options.withCenterWritingWeights(true);
                case CENTER_UNEMBED -> options.withCenterUnembed(true);
                case FOLD_VALUE_BIASES -> options.withFoldValueBiases(true);
                case REFACTOR_FACTORED_ATTN_MATRICES -> options.withRefactorFactoredAttnMatrices(true);
            };
        }
        return options;
    }

    /** The steps by TransformerLens name, comma-separated: {@code "fold_ln, center_unembed"}. */
    public String stepNames() {
        return weightProcessing.stream().map(WeightProcessingStep::jsonName).collect(Collectors.joining(", "));
    }

    /** For messages: "unprocessed (Hugging Face)" or "processed (fold_ln, center_unembed)". */
    public String describe() {
        return isHuggingFace() ? "unprocessed (Hugging Face's weights)"
                : "processed (" + stepNames() + ")";
    }
}
