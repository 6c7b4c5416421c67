package dev.loupe.lens;

import dev.loupe.LoupeException;
import dev.loupe.config.TransformerConfig;
import dev.loupe.process.ProcessOptions;
import java.util.List;

/**
 * The coordinates a lens reads the residual stream and the logits in. Weight processing changes
 * them: {@code center_writing_weights} centres the residual ({@code h → Ch}), {@code fold_ln} moves
 * the final norm's weights into {@code W_U}, {@code center_unembed} shifts the logits, and a
 * translator trained on {@code h} does not carry over to {@code Ch}, since
 * {@code LN(Ch + A·Ch + b) ≠ LN(h + A·h + b)}. So a lens records the processing of the model it was
 * trained on, and only runs on a model processed the same way.
 *
 * @param weightProcessing the processing steps by TransformerLens name, in order; empty for the
 *     weights as Hugging Face has them, which is the basis of every lens the Python library made
 */
public record LensBasis(List<String> weightProcessing) {
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
        for (String step : weightProcessing) {
            options = switch (step) {
                case "fold_ln" -> options.withFoldLn(true);
                case "center_writing_weights" -> options.withCenterWritingWeights(true);
                case "center_unembed" -> options.withCenterUnembed(true);
                case "fold_value_biases" -> options.withFoldValueBiases(true);
                case "refactor_factored_attn_matrices" -> options.withRefactorFactoredAttnMatrices(true);
                default -> throw new LoupeException("Unknown weight-processing step '" + step + "' in a lens config;"
                        + " Loupe knows fold_ln, center_writing_weights, center_unembed, fold_value_biases and"
                        + " refactor_factored_attn_matrices");
            };
        }
        return options;
    }

    /** For messages: "unprocessed (Hugging Face)" or "processed (fold_ln, center_unembed)". */
    public String describe() {
        return isHuggingFace() ? "unprocessed (Hugging Face's weights)"
                : "processed (" + String.join(", ", weightProcessing) + ")";
    }
}
